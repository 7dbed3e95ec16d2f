using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// The kernel's own answer, not a seam: <c>strace -e inject=fsync:error=EIO</c> makes the real fsync(2) calls of the
/// real <c>cellar</c> process fail (the first one of each thread), as a dying disk would. .NET's
/// <c>Flush(flushToDisk: true)</c> ignores that; these runs printed "verified" and exited 0 before Cellar checked fsync
/// itself.
/// </summary>
public sealed class FsyncInjectionTests
{
    [Fact]
    public async Task A_backup_whose_fsync_fails_is_not_called_verified_and_leaves_nothing_under_a_final_name()
    {
        await SkipWithoutStraceAsync();
        using var sandbox = await CliSandbox.CreateAsync(8L << 20);

        var (code, output) = await UnderFailingFsyncAsync(sandbox, "run", "daily");

        Assert.True(code == 1, $"expected exit 1, got {code}: {output}");
        Assert.Contains("cannot sync", output, StringComparison.Ordinal);
        Assert.DoesNotContain("verified", output, StringComparison.Ordinal);
        // Whichever sync failed first (a new folder's, the run's state, the backup's), nothing has a final name.
        Assert.DoesNotContain(Directory.EnumerateFiles(sandbox.BackupRoot, "*", SearchOption.AllDirectories), f => !Path.GetFileName(f).StartsWith('.'));
    }

    [Fact]
    public async Task A_restore_whose_fsync_fails_leaves_no_database_and_no_temp_file()
    {
        await SkipWithoutStraceAsync();
        using var sandbox = await CliSandbox.CreateAsync(8L << 20);
        await sandbox.BackupAsync();
        var target = sandbox.Combine("restored.sqlite");

        var (code, output) = await UnderFailingFsyncAsync(sandbox, "restore", "--latest", "daily", "--to", target);

        Assert.True(code == 1, $"expected exit 1, got {code}: {output}");
        Assert.Contains("cannot sync", output, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    private static Task<(int ExitCode, string Output)> UnderFailingFsyncAsync(CliSandbox sandbox, params string[] args) =>
        CliSandbox.ExecAsync(
            "strace",
            ["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:error=EIO:when=1",
             CellarProcess.DotnetHost(), CellarProcess.DllPath, "--config", sandbox.ConfigPath, .. args]);

    private static async Task SkipWithoutStraceAsync()
    {
        int code;
        try
        {
            (code, _) = await CliSandbox.ExecAsync("strace", "-qq", "-o", "/dev/null", "true");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            code = -1;
        }

        Assert.SkipWhen(code != 0, "strace is not installed or may not trace here (.ci/run installs it)");
    }
}

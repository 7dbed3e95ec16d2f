using System.Text.RegularExpressions;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// The kernel's own answer, not a seam: <c>strace -e inject=fsync:error=EIO</c> makes the real fsync(2) calls of the
/// real <c>cellar</c> process fail (the first one of each thread), as a dying disk would. .NET's
/// <c>Flush(flushToDisk: true)</c> ignores that; these runs printed "verified" and exited 0 before Cellar checked fsync
/// itself. Traced instead of failed, the same calls show which files the kernel was asked to sync, and when: a
/// skipped fsync passes every other test, since nothing else can tell.
/// </summary>
public sealed partial class FsyncInjectionTests
{
    /// <summary>strace's options that make the first fsync(2) or fdatasync(2) of each thread fail with EIO.</summary>
    private static readonly string[] FailingFsync = ["-o", "/dev/null", "-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:error=EIO:when=1"];

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

    [Fact]
    public async Task A_run_fsyncs_each_file_before_it_takes_its_final_name_and_the_folder_after()
    {
        await SkipWithoutStraceAsync();
        using var sandbox = await CliSandbox.CreateAsync(8L << 20);
        var trace = sandbox.Combine("fsync.trace");

        // -y names each descriptor's file, so the trace says which file each fsync(2) reached, in the order the calls were made.
        var (code, output) = await UnderStraceAsync(sandbox, ["-y", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"], "run", "daily");

        Assert.True(code == 0, $"expected exit 0, got {code}: {output}");
        var calls = await File.ReadAllLinesAsync(trace, TestContext.Current.CancellationToken);
        var renames = calls.Select((line, at) => (Match: RenameCall().Match(line), At: at))
            .Where(r => r.Match.Success && Path.GetDirectoryName(r.Match.Groups["to"].Value) == sandbox.DailyFolder)
            .ToList();
        Assert.Contains(renames, r => r.Match.Groups["to"].Value.EndsWith(".gz", StringComparison.Ordinal));
        Assert.Contains(renames, r => r.Match.Groups["to"].Value.EndsWith(".gz.json", StringComparison.Ordinal));
        foreach (var (rename, at) in renames)
        {
            var from = rename.Groups["from"].Value;
            var to = rename.Groups["to"].Value;
            Assert.True(calls.Take(at).Any(c => SyncOf(c) == from), $"{from} was renamed to {to} without an fsync of it first");
            Assert.True(calls.Skip(at + 1).Any(c => SyncOf(c) == sandbox.DailyFolder), $"{to} was given its name, but its folder was not synced after");
        }
    }

    [Fact]
    public async Task A_run_whose_folder_sync_fails_in_the_kernel_fails_and_keeps_nothing_new()
    {
        await SkipWithoutStraceAsync();
        using var sandbox = await CliSandbox.CreateAsync(8L << 20);
        await sandbox.BackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);

        // -P limits the failure to the fsync(2) calls on the job's folder: every file's own fsync succeeds.
        var (code, output) = await UnderStraceAsync(sandbox, ["-P", sandbox.DailyFolder, .. FailingFsync], "run", "daily");

        Assert.True(code == 1, $"expected exit 1, got {code}: {output}");
        Assert.Contains($"cannot sync {sandbox.DailyFolder} to disk: Input/output error", output, StringComparison.Ordinal);
        Assert.Equal(before, CliSandbox.Fingerprint(sandbox.DailyFolder));
    }

    /// <summary>The file an fsync or fdatasync line of an <c>strace -y</c> trace reached, or null.</summary>
    private static string? SyncOf(string line) => SyncCall().Match(line) is { Success: true } m ? m.Groups["path"].Value : null;

    [GeneratedRegex(@"\bf(?:data)?sync\(\d+<(?<path>[^>]*)>")]
    private static partial Regex SyncCall();

    [GeneratedRegex(@"\brename(?:at2?)?\((?:[^,]*, )?""(?<from>[^""]*)"", (?:[^,]*, )?""(?<to>[^""]*)""")]
    private static partial Regex RenameCall();

    private static Task<(int ExitCode, string Output)> UnderFailingFsyncAsync(CliSandbox sandbox, params string[] args) =>
        UnderStraceAsync(sandbox, FailingFsync, args);

    /// <summary>Runs cellar with <paramref name="args"/> under strace with <paramref name="options"/>, following every thread.</summary>
    private static Task<(int ExitCode, string Output)> UnderStraceAsync(CliSandbox sandbox, string[] options, params string[] args) =>
        CliSandbox.ExecAsync("strace", ["-f", "-qq", .. options, CellarProcess.DotnetHost(), CellarProcess.DllPath, "--config", sandbox.ConfigPath, .. args]);

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

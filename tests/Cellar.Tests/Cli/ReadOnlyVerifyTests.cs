using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Backups on a read-only mount (an offsite copy mounted back, a snapshot of the volume) can still be proven: the
/// expanded copy goes to the temp folder, no check is recorded there, and nothing in the folder changes.
/// </summary>
public sealed class ReadOnlyVerifyTests
{
    [Fact]
    public async Task A_backup_in_a_read_only_folder_is_proven_and_nothing_is_written_beside_it()
    {
        using var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var backup = await sandbox.BackupAsync();
        using var mount = await BadInputTests.ReadOnlyViewAsync(sandbox);
        var folder = Path.Combine(mount.Path, "daily");
        var config = sandbox.WriteConfig(backupRoot: mount.Path, path: sandbox.Combine("read-only.json"));
        var before = Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(f => (f, CliSandbox.HashOf(f))).ToList();

        var run = await CliSandbox.CellarWithConfigAsync(config, "verify", Path.Combine(folder, Path.GetFileName(backup)));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(before, Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(f => (f, CliSandbox.HashOf(f))).ToList());
    }
}

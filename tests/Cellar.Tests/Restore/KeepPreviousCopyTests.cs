using Cellar.Core.IO;
using Cellar.Core.Restore;
using Cellar.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>
/// Where the previous database cannot get a second name (a filesystem without hard links, or a file at its link limit),
/// a restore keeps it as a copy instead: whole, fsynced, with the old file's mode; and a copy the disk cannot make
/// durable is no copy, so it goes and the restore changes nothing. The link limit (65,000 on ext4) stands in for a
/// filesystem without links.
/// </summary>
public sealed class KeepPreviousCopyTests : IDisposable
{
    private const int EIO = 5;

    public void Dispose() => FaultInjection.Fsync = null;

    [Fact]
    public async Task A_database_at_its_link_limit_is_kept_as_a_synced_copy_with_its_mode()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var (backup, target) = await SceneAsync(sandbox);
        var synced = new List<string>();
        FaultInjection.Fsync = path =>
        {
            lock (synced)
            {
                synced.Add(path);
            }

            return 0;
        };

        var result = await Service().RestoreAsync(backup, target, force: true, null, TestContext.Current.CancellationToken);

        var saved = Assert.IsType<string>(result.SavedPrevious);
        Assert.Equal("the app's current database", await File.ReadAllTextAsync(saved, TestContext.Current.CancellationToken));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(saved));
        Assert.Equal(1UL, UnixFiles.Stat(saved)!.Value.Links);
        Assert.Contains(saved, synced);
    }

    [Fact]
    public async Task A_copy_of_the_previous_database_the_disk_cannot_sync_goes_and_nothing_is_restored()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var (backup, target) = await SceneAsync(sandbox);
        FaultInjection.Fsync = path => Path.GetFileName(path).Contains(".pre-restore-", StringComparison.Ordinal) ? EIO : 0;

        await Assert.ThrowsAsync<SyncFailedException>(() => Service().RestoreAsync(backup, target, force: true, null, TestContext.Current.CancellationToken));

        Assert.Equal("the app's current database", await File.ReadAllTextAsync(target, TestContext.Current.CancellationToken));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(target)!, "*.pre-restore-*"));
    }

    private static RestoreService Service() => new(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<RestoreService>.Instance);

    /// <summary>A backup, and the app's file (mode 0640) at its link limit, every extra name in a folder of its own.</summary>
    private static async Task<(string Backup, string Target)> SceneAsync(CliSandbox sandbox)
    {
        var backup = await sandbox.BackupAsync();
        var folder = sandbox.Combine("app");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, "portfolio.sqlite");
        await File.WriteAllTextAsync(target, "the app's current database", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var links = sandbox.Combine("links");
        Directory.CreateDirectory(links);
        for (var i = 0; UnixFiles.Link(target, Path.Combine(links, i.ToString(System.Globalization.CultureInfo.InvariantCulture))) == 0; i++)
        {
            Assert.SkipWhen(i > 70_000, "the temp folder's filesystem has no hard-link limit (ext4 stops at 65,000) to stand in for one without links");
        }

        return (backup, target);
    }
}

using Cellar.Core;
using Cellar.Core.Progress;
using Cellar.Core.Restore;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;

using Microsoft.Extensions.Logging;

using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>
/// <see cref="RestoreService"/> in process, where a test can act at a chosen moment: while the backup is being
/// expanded and checked (minutes on a large database), which is when an app may be started or recreate its file.
/// The backups are real, made by the <c>cellar</c> executable.
/// </summary>
public sealed class RestoreServiceTests
{
    private const long DatabaseBytes = 3 << 20;

    private readonly RecordingLogger<RestoreService> _log = new();

    [Fact]
    public async Task A_database_the_app_creates_during_verification_is_kept_aside_and_the_forced_restore_still_swaps_in()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync();
        var appsFile = CliSandbox.HashOf(sandbox.Database);

        var result = await Service().RestoreAsync(backup, target, force: true, OnFirstReport(() => File.Copy(sandbox.Database, target)), ct);

        Assert.Equal(target, result.Target);
        var saved = Assert.IsType<string>(result.SavedPrevious);
        Assert.Equal(appsFile, CliSandbox.HashOf(saved));
        CliSandbox.AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_database_the_app_creates_during_verification_stops_a_restore_without_force_and_is_left_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync();

        var error = await Assert.ThrowsAsync<ConfigException>(() =>
            Service().RestoreAsync(backup, target, force: false, OnFirstReport(() => File.Copy(sandbox.Database, target)), ct));

        Assert.Contains("--force", error.Message, StringComparison.Ordinal);
        Assert.Equal(CliSandbox.HashOf(sandbox.Database), CliSandbox.HashOf(target));
        sandbox.AssertNothingRestored();
    }

    [Fact]
    public async Task An_app_that_starts_writing_during_verification_stops_the_restore_before_anything_moves()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true);
        LoadWriterProcess? writer = null;
        try
        {
            var error = await Assert.ThrowsAsync<CellarException>(() => Service().RestoreAsync(
                backup,
                target,
                force: true,
                OnFirstReport(() => writer = LoadWriterProcess.StartAsync(target, "wal", 200, ct).GetAwaiter().GetResult()),
                ct));

            Assert.Contains("open for writing", error.Message, StringComparison.Ordinal);
            Assert.NotNull(writer);
            sandbox.AssertNothingRestored();
            var stats = await writer.StopAsync(ct);
            using var app = CliSandbox.Open(target);
            Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
            Assert.Equal("ok", CliSandbox.Scalar(app, "PRAGMA integrity_check"));
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Stale_companions_of_a_deleted_database_are_moved_aside_reported_and_logged()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync();
        await using (await LoadWriterProcess.StartAsync(target, "wal", 0, ct))
        {
            await Task.Delay(300, ct); // then killed, as a crash leaves it: committed rows still in the -wal
        }

        Assert.True(File.Exists(target + "-wal"), "the killed writer left no -wal; the test needs one");
        File.Delete(target); // the operator removes the damaged database and forgets its -wal
        var oldWal = CliSandbox.HashOf(target + "-wal");

        var result = await Service().RestoreAsync(backup, target, force: false, progress: null, ct);

        Assert.Null(result.SavedPrevious);
        var keptWal = Assert.Single(result.SavedCompanions, p => p.EndsWith("-wal", StringComparison.Ordinal));
        Assert.StartsWith(target + ".pre-restore-", keptWal, StringComparison.Ordinal);
        Assert.Equal(oldWal, CliSandbox.HashOf(keptWal));
        Assert.All(result.SavedCompanions, p => Assert.True(File.Exists(p), p));
        Assert.False(File.Exists(target + "-wal"), "the stale -wal is still beside the restored database");
        Assert.False(File.Exists(target + "-shm"), "the stale -shm is still beside the restored database");
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(keptWal, StringComparison.Ordinal));
        CliSandbox.AssertHoldsBackup(target, backup);
    }

    private RestoreService Service() => new(TimeProvider.System, TimeZoneInfo.Utc, _log);

    /// <summary>Progress that runs <paramref name="action"/> (once) when the restore first reports, i.e. mid-verification.</summary>
    private static IProgress<JobProgress> OnFirstReport(Action action) => new FirstReport(action);

    private sealed class FirstReport(Action action) : IProgress<JobProgress>
    {
        private int _reported;

        public void Report(JobProgress value)
        {
            if (Interlocked.Exchange(ref _reported, 1) == 0)
            {
                action();
            }
        }
    }
}

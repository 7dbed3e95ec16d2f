using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// What the app, or an operator, does to the database under a stream job that breaks the line of its history: each
/// begins a new generation from a fresh base (never a line with a silent gap), the old one stays restorable up to
/// its end, and the newest point holds every commit.
/// </summary>
public sealed class StreamFaultTests
{
    [Fact]
    public async Task A_database_file_replaced_while_followed_begins_a_new_generation_and_both_restore()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        sandbox.OpenApp().Dispose();
        var (stop, following) = sandbox.Follow();
        try
        {
            var before = await WriteAsync(sandbox, ct);
            var replacedAt = TimeProvider.System.GetUtcNow();

            sandbox.ReplaceDatabase();

            var after = await WriteAsync(sandbox, ct);
            Assert.True(after > before);
            var latest = await sandbox.RestoreAsync();
            Assert.Equal(1, StreamSandbox.Rows(latest, "replaced"));
            Assert.Equal(before, StreamSandbox.ParentsIn(await sandbox.RestoreAsync(replacedAt)));
            Assert.Equal(2, Generation.List(sandbox.Job.Folder).Count);
            Assert.Contains(sandbox.Log.Entries, e => e.Message.Contains("replaced", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await following;
        }
    }

    [Fact]
    public async Task A_WAL_the_app_checkpointed_and_deleted_while_Cellar_was_down_begins_a_new_generation()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        var before = await FollowWhileWritingAsync(sandbox, ct);
        var stoppedAt = TimeProvider.System.GetUtcNow();

        // The writer is the last connection: closing, it checkpoints the WAL and deletes it.
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 300, ct);
        await Task.Delay(1000, ct);
        await writer.StopAsync(ct);
        await writer.DisposeAsync();
        Assert.False(File.Exists(sandbox.Database + "-wal"));

        var after = await FollowWhileWritingAsync(sandbox, ct);
        Assert.True(after > before);
        Assert.Equal(before, StreamSandbox.ParentsIn(await sandbox.RestoreAsync(stoppedAt)));
        Assert.Equal(2, Generation.List(sandbox.Job.Folder).Count);
    }

    [Fact]
    public async Task A_follower_that_closes_the_database_last_keeps_the_WAL_and_goes_on_with_its_generation()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;

        // The writer stops first, so the follower is the last to close: SQLite would delete the WAL, and with it the proof.
        await FollowWhileWritingAsync(sandbox, ct);
        Assert.True(File.Exists(sandbox.Database + "-wal"));
        var (stop, following) = sandbox.Follow();
        await Task.Delay(1000, ct);
        await stop.CancelAsync();
        await following;
        Assert.True(Generation.List(sandbox.Job.Folder).Count == 1, string.Join("\n", sandbox.Log.Entries.Select(e => e.Message)));
    }

    [Fact]
    public async Task A_database_switched_out_of_WAL_mode_is_refused_and_back_in_WAL_mode_followed_again()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        var before = await FollowWhileWritingAsync(sandbox, ct);

        // While Cellar is down the app goes over to a rollback journal (a follower's read transaction would hold it in WAL mode).
        await WriteOnceAsync(sandbox, "delete", ct);
        var refused = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        CliSandbox.AssertOneLineError(refused, 1, "is not in WAL mode");
        Assert.Equal(before, StreamSandbox.ParentsIn(await sandbox.RestoreAsync()));

        await WriteOnceAsync(sandbox, "wal", ct);
        var resumed = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(StreamSandbox.Rows(sandbox.Database, "parent"), StreamSandbox.ParentsIn(await sandbox.RestoreAsync()));
        Assert.Equal(2, Generation.List(sandbox.Job.Folder).Count);
    }

    /// <summary>A writer commits for a second; returns once the stream holds its last commit.</summary>
    private static async Task<long> WriteAsync(StreamSandbox sandbox, CancellationToken ct)
    {
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 300, ct);
        await Task.Delay(1000, ct);
        var stats = await writer.StopAsync(ct);
        await writer.DisposeAsync();
        await sandbox.WaitForShippedAsync(stats.LastN, ct);
        return stats.LastN;
    }

    /// <summary>Follows the database while a writer commits for a second, then stops following.</summary>
    private static async Task<long> FollowWhileWritingAsync(StreamSandbox sandbox, CancellationToken ct)
    {
        // The database exists before the follower starts, so it holds the WAL from the writer's first commit.
        sandbox.OpenApp().Dispose();
        var (stop, following) = sandbox.Follow();
        try
        {
            return await WriteAsync(sandbox, ct);
        }
        finally
        {
            await stop.CancelAsync();
            await following;
        }
    }

    /// <summary>A writer in journal mode <paramref name="journal"/> commits for half a second.</summary>
    private static async Task WriteOnceAsync(StreamSandbox sandbox, string journal, CancellationToken ct)
    {
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, journal, 300, ct);
        await Task.Delay(500, ct);
        await writer.StopAsync(ct);
        await writer.DisposeAsync();
    }
}

using Cellar.Core.IO;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// The stream job under a real writer process: every commit the writer saw succeed is in the restored database, whatever
/// checkpoints the app runs meanwhile, and a restore holds one committed prefix, never a torn state.
/// </summary>
public sealed class StreamFollowerTests
{
    [Fact]
    public async Task Every_commit_is_restored_after_the_writer_stops()
    {
        using var sandbox = new StreamSandbox();
        await WriteWhileFollowingAsync(sandbox, () => Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("PASSIVE")]
    [InlineData("FULL")]
    [InlineData("RESTART")]
    [InlineData("TRUNCATE")]
    public async Task The_apps_own_checkpoints_leave_no_gap(string mode)
    {
        using var sandbox = new StreamSandbox();
        await WriteWhileFollowingAsync(sandbox, async () =>
        {
            using var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False");
            app.Open();
            using var checkpoint = app.CreateCommand();
            checkpoint.CommandText = $"PRAGMA busy_timeout=2000; PRAGMA wal_checkpoint({mode})";
            for (var i = 0; i < 20; i++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
                checkpoint.ExecuteNonQuery();
            }
        });

        // Proven continuous, not merely caught up by starting over: one generation from the first base to the end.
        Assert.True(Cellar.Core.Replication.Generation.List(sandbox.Job.Folder).Count == 1, string.Join("\n", sandbox.Log.Entries.Select(e => e.Message)));
    }

    /// <summary>
    /// The race a busy app's own autocheckpoint runs with Cellar's: in the instant Cellar lets go of its reader, the app
    /// copies every frame into the database file and its next commit starts the WAL over. Were the app's writers not held
    /// in that instant, a second restart could follow before Cellar read the first one's commits, and the stream would
    /// have to start over from a new base (measured: one checkpoint in about a hundred at 200 tx/s).
    /// </summary>
    [Fact]
    public async Task The_apps_checkpoint_and_commit_in_the_instant_Cellar_lets_go_of_its_reader_cost_no_generation()
    {
        using var sandbox = new StreamSandbox();
        var moments = 0;
        FaultInjection.ReaderReleased = () =>
        {
            moments++;
            using var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False");
            app.Open();
            using var command = app.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout=0; PRAGMA wal_checkpoint(PASSIVE)";
            command.ExecuteNonQuery();
            try
            {
                command.CommandText = "CREATE TABLE IF NOT EXISTS raced(x); INSERT INTO raced VALUES (1); INSERT INTO raced VALUES (2)";
                command.ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SQLitePCL.raw.SQLITE_BUSY)
            {
                // Cellar holds the app's writers in that instant: the commits wait for it.
            }
        };
        await WriteWhileFollowingAsync(sandbox, () => Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken));

        Assert.True(moments > 0, "Cellar ran no checkpoint of its own: the race was never run");
        Assert.True(Cellar.Core.Replication.Generation.List(sandbox.Job.Folder).Count == 1, string.Join("\n", sandbox.Log.Entries.Select(e => e.Message)));
    }

    [Fact]
    public async Task A_VACUUM_that_shrinks_the_database_mid_stream_is_restored_page_for_page()
    {
        using var sandbox = new StreamSandbox();
        await WriteWhileFollowingAsync(sandbox, async () =>
        {
            // Four MiB the app then drops: VACUUM rewrites every page through the WAL and its commit shrinks the file.
            using var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False");
            app.Open();
            using var command = app.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout=5000; CREATE TABLE scratch(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024) INSERT INTO scratch SELECT randomblob(4096) FROM n";
            command.ExecuteNonQuery();
            await Task.Delay(500, TestContext.Current.CancellationToken);
            command.CommandText = "DROP TABLE scratch";
            command.ExecuteNonQuery();
            command.CommandText = "VACUUM";
            command.ExecuteNonQuery();
            await Task.Delay(500, TestContext.Current.CancellationToken);
        });

        // The restored file is the live one's size (the commit's page count cut it), and VACUUM needed no new generation.
        var restored = await sandbox.RestoreAsync();
        Assert.Equal(PageCount(sandbox.Database), PageCount(restored));
        Assert.True(PageCount(restored) < 1024, $"{PageCount(restored)} pages: the VACUUM did not shrink the database");
        Assert.Single(Cellar.Core.Replication.Generation.List(sandbox.Job.Folder));
    }

    private static long PageCount(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_count";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// A writer process commits while the follower runs and <paramref name="meanwhile"/> happens; once the writer stops,
    /// the stream must catch up and its newest point hold every commit the writer saw succeed.
    /// </summary>
    private static async Task WriteWhileFollowingAsync(StreamSandbox sandbox, Func<Task> meanwhile)
    {
        var ct = TestContext.Current.CancellationToken;
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 300, ct);
        var (stop, following) = sandbox.Follow();
        await meanwhile();
        var stats = await writer.StopAsync(ct);
        await writer.DisposeAsync();
        await sandbox.WaitForShippedAsync(stats.LastN, ct);
        await stop.CancelAsync();
        await following;
        Assert.Equal(stats.LastN, StreamSandbox.ParentsIn(await sandbox.RestoreAsync()));
    }
}

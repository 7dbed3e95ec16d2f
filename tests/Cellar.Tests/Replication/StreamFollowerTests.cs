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
        await WaitForShippedAsync(sandbox, stats.LastN, ct);
        await stop.CancelAsync();
        await following;
        Assert.Equal(stats.LastN, StreamSandbox.ParentsIn(await sandbox.RestoreAsync()));
    }

    /// <summary>Waits (with a deadline) until the newest point of the stream holds parent <paramref name="lastN"/>.</summary>
    private static async Task WaitForShippedAsync(StreamSandbox sandbox, long lastN, CancellationToken ct)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            // Until the follower's first base is written there is nothing to restore yet.
            var restored = Cellar.Core.Replication.StreamCatalog.List(sandbox.Job).Count == 0 ? -1 : StreamSandbox.ParentsIn(await sandbox.RestoreAsync());
            if (restored == lastN)
            {
                return;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"the stream holds {restored} of {lastN} parents after 20 s");
            await Task.Delay(200, ct);
        }
    }
}

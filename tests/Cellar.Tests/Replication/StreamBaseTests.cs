using Cellar.Core.Replication;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// Bases on the schedule and the window retention keeps: a day later the follower takes a new base at the transaction it
/// shipped last, and once a base is older than keepDays, what came before it goes, while every moment since stays
/// restorable.
/// </summary>
public sealed class StreamBaseTests
{
    [Fact]
    public async Task A_base_a_day_and_retention_keeps_exactly_the_window()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        using var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False");
        app.Open();
        Execute(app, "PRAGMA journal_mode=WAL; CREATE TABLE item(id INTEGER PRIMARY KEY)");
        var job = sandbox.Job;
        using var follower = new WalFollower(job, clock, TimeZoneInfo.Utc, NullLogger.Instance);
        var inserted = 0;
        async Task DayAsync()
        {
            for (var i = 0; i < 10; i++)
            {
                Execute(app, $"INSERT INTO item(id) VALUES ({++inserted})");
            }

            await follower.StepAsync(ct);
            clock.Advance(TimeSpan.FromDays(1));
            await follower.StepAsync(ct);
            follower.WaitForBackground();
        }

        for (var day = 0; day < 10; day++)
        {
            await DayAsync();
        }

        follower.Seal(ct);
        var generation = Generation.List(job.Folder)[^1];
        var bases = StreamHistory.Bases(generation);

        // Keep 7 days: the newest base at or before the window's start anchors it, and the bases before its chain (the
        // whole base it begins with) are gone.
        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(job.KeepDays);
        var anchor = bases.Count(b => b.Sidecar.Created <= cutoff) - 1;
        Assert.Equal(StreamBaseImage.Chain(bases, anchor, b => b.Full).Count, anchor + 1);
        Assert.True(bases.Count >= 8, $"{bases.Count} bases");
        Assert.All(generation.Segments(), s => Assert.True(s.Last > bases[anchor].Txid, $"segment up to {s.Last} outlived the anchor at {bases[anchor].Txid}"));

        Assert.Equal(inserted, StreamSandbox.Rows(await sandbox.RestoreAsync(), "item"));
        Assert.Equal(inserted - 10, StreamSandbox.Rows(await sandbox.RestoreAsync(clock.GetUtcNow() - TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1)), "item"));
        await Assert.ThrowsAsync<Core.CellarException>(() => sandbox.RestoreAsync(cutoff - TimeSpan.FromDays(2)));
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

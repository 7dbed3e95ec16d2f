using System.Buffers.Binary;
using Cellar.Core.Replication;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// Point-in-time exactness under a writer process that stamps each commit with the time it began: a restore at any
/// instant holds one committed prefix, nothing whose commit began after the instant, and everything committed longer
/// ago than Cellar takes to see a commit.
/// </summary>
public sealed class PointInTimeTests
{
    /// <summary>How late Cellar may see a commit (inotify, one fsync, a busy CI machine): what "every commit up to the instant" allows.</summary>
    private static readonly TimeSpan SeenWithin = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Restores_at_twenty_instants_each_hold_exactly_the_commits_up_to_it()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 200, ct);
        var (stop, following) = sandbox.Follow();
        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        var stats = await writer.StopAsync(ct);
        await writer.DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await stop.CancelAsync();
        await following;

        var stamps = Stamps(await sandbox.RestoreAsync());
        Assert.Equal(stats.LastN, stamps.Count);
        var generation = Assert.Single(Generation.List(sandbox.Job.Folder));
        var from = StreamHistory.Bases(generation)[0].Sidecar.Created;
        var to = StreamHistory.After(generation, 0).Last().Committed;
        var random = new Random(15);
        for (var i = 0; i < 20; i++)
        {
            var at = from + ((to - from + TimeSpan.FromMilliseconds(500)) * random.NextDouble());
            var held = Stamps(await sandbox.RestoreAsync(at));
            var k = held.Count;
            Assert.True(held.SequenceEqual(stamps.Take(k)), $"at {at:O}: not a prefix of the commits");
            if (k > 0)
            {
                Assert.True(held[^1] <= at, $"at {at:O}: holds commit {k}, begun at {held[^1]:O}, after the instant");
            }

            if (k < stamps.Count)
            {
                Assert.True(stamps[k] > at - SeenWithin, $"at {at:O}: lacks commit {k + 1}, begun at {stamps[k]:O}, long before");
            }
        }
    }

    /// <summary>When each commit the database holds began, in commit order (n = 1, 2, ...); fails unless they are a prefix.</summary>
    private static List<DateTimeOffset> Stamps(string path)
    {
        StreamSandbox.ParentsIn(path);
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM child ORDER BY n";
        using var rows = command.ExecuteReader();
        var stamps = new List<DateTimeOffset>();
        while (rows.Read())
        {
            stamps.Add(DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian((byte[])rows[0])));
        }

        return stamps;
    }
}

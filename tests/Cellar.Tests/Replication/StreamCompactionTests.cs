using Cellar.Core.IO;
using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// Compaction of the job folder's sealed segments: ten-second segments are merged into few, the newest left as sealed,
/// never across a base, and every moment restores as before; a merge cut short before its deletes is read as one and
/// tidied by the next.
/// </summary>
public sealed class StreamCompactionTests
{
    [Fact]
    public async Task Sealed_segments_are_merged_but_the_newest_and_every_moment_restores_as_before()
    {
        using var rig = new Rig();
        var moments = new List<(DateTimeOffset At, long Rows)>();
        for (var i = 1; i <= 150; i++)
        {
            if (i == 76)
            {
                // The next day: a base after transaction 75, which no merged segment may reach past.
                rig.Clock.Advance(TimeSpan.FromDays(1));
                await rig.Follower.StepAsync(Rig.Ct);
                rig.Follower.WaitForBackground();
            }

            await rig.InsertAndSealAsync();
            moments.Add((rig.Clock.GetUtcNow() - TimeSpan.FromSeconds(1), i)); // the next insert commits at the clock's time
        }

        // The follower merged along the way (every ten minutes of the 25); once more now that all 150 are sealed. A merge
        // started along the way may still run (a loaded machine): it ends first, and the next is due an interval after
        // the step that follows, so that last merge sees every sealed segment.
        rig.Follower.WaitForBackground();
        await rig.Follower.StepAsync(Rig.Ct);
        rig.Clock.Advance(WalFollower.CompactionInterval);
        await rig.Follower.StepAsync(Rig.Ct);
        rig.Follower.WaitForBackground();

        var after = rig.Generation.Segments();
        var baseTxid = StreamHistory.Bases(rig.Generation)[^1].Txid;
        Assert.Equal(75, baseTxid);
        Assert.Equal(StreamCompaction.KeptAsSealed, after.Count(s => s.First == s.Last));
        Assert.Contains(after, s => s.First == 1 && s.Last == 75);
        Assert.DoesNotContain(after, s => s.First <= baseTxid && baseTxid < s.Last);
        Assert.True(after.Count <= StreamCompaction.KeptAsSealed + 2, string.Join(", ", after.Select(s => $"{s.First}-{s.Last}")));

        foreach (var (at, rows) in moments.Where((_, i) => i % 13 == 0))
        {
            Assert.Equal(rows, StreamSandbox.Rows(await rig.Sandbox.RestoreAsync(at), "item"));
        }

        Assert.Equal(150, StreamSandbox.Rows(await rig.Sandbox.RestoreAsync(), "item"));
    }

    [Fact]
    public async Task A_merge_cut_short_before_its_deletes_restores_as_one_and_is_tidied_by_the_next()
    {
        using var rig = new Rig();
        for (var i = 1; i <= 80; i++)
        {
            await rig.InsertAndSealAsync();
        }

        // The merged segment of the first ten is written, and the process dies before the ten small ones go.
        var generation = rig.Generation;
        var small = generation.Segments().Take(10).ToList();
        using (var records = new ConcatenatedStream(small.Select(s => (Func<Stream>)(() => StreamSegment.OpenRecords(s.Path)))))
        {
            StreamSegment.Write(generation, small[0].First, small[^1].Last, records, Rig.Ct);
        }

        Assert.Equal(80, StreamSandbox.Rows(await rig.Sandbox.RestoreAsync(), "item"));

        rig.Follower.WaitForBackground();
        StreamCompaction.Compact(generation, Rig.Ct);
        Assert.All(small, s => Assert.False(File.Exists(s.Path), $"{s.Path} outlived the merge that holds it"));
        Assert.Equal(80, StreamSandbox.Rows(await rig.Sandbox.RestoreAsync(), "item"));
    }

    [Fact]
    public async Task A_read_that_merges_pass_under_again_and_again_still_gets_every_transaction_in_order()
    {
        using var rig = new Rig();
        for (var i = 1; i <= 100; i++)
        {
            await rig.InsertAndSealAsync();
        }

        // A restore (or an upload) reads the segments while the follower merges the ones it is about to open, four times
        // over: each time more segments are sealed, the older ones fall out of the newest 60 and are merged.
        var generation = rig.Generation;
        using var records = StreamHistory.After(generation, 0).GetEnumerator();
        var expected = 1L;
        for (var merge = 0; merge < 4; merge++)
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.True(records.MoveNext());
                Assert.Equal(expected++, records.Current.Txid);
            }

            var sealedBefore = generation.Segments();
            for (var i = 0; i < 25; i++)
            {
                await rig.InsertAndSealAsync();
            }

            // The follower's own merge (due every ten minutes of the clock) may have merged them already.
            rig.Follower.WaitForBackground();
            StreamCompaction.Compact(generation, Rig.Ct);
            Assert.Contains(sealedBefore, s => !File.Exists(s.Path));
        }

        while (records.MoveNext())
        {
            Assert.Equal(expected++, records.Current.Txid);
        }

        Assert.Equal(200, expected - 1);
    }

    /// <summary>A table the app inserts into, followed in this process on a fake clock, each insert sealed into its own segment.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly Microsoft.Data.Sqlite.SqliteConnection _app;

        public Rig()
        {
            _app = Sandbox.OpenApp();
            _app.Execute("CREATE TABLE item(id INTEGER PRIMARY KEY, body TEXT)");
            Follower = new WalFollower(Sandbox.Job, Clock, TimeZoneInfo.Utc, NullLogger.Instance);
            Follower.StepAsync(Ct).GetAwaiter().GetResult();
        }

        public StreamSandbox Sandbox { get; } = new();

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));

        public WalFollower Follower { get; }

        public static CancellationToken Ct => TestContext.Current.CancellationToken;

        public Generation Generation => Generation.List(Sandbox.Job.Folder)[^1];

        /// <summary>One insert, shipped; ten seconds later its segment is sealed.</summary>
        public async Task InsertAndSealAsync()
        {
            _app.Execute("INSERT INTO item(body) VALUES (hex(randomblob(64)))");
            await Follower.StepAsync(Ct);
            Clock.Advance(Sandbox.Job.SegmentInterval);
            await Follower.StepAsync(Ct);
        }

        public void Dispose()
        {
            Follower.Dispose();
            _app.Dispose();
            Sandbox.Dispose();
        }
    }
}

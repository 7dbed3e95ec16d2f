using System.Security.Cryptography;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// Scheduled bases stored as the pages that changed since the base before (page sets): a day costs what it changed,
/// every point restores exactly, a chain never runs past its bound, retention keeps a chain whole, and a page set, a
/// chain with a hole, or a base altered together with its sidecar is refused rather than restored wrong.
/// </summary>
public sealed class PageSetTests
{
    private const int Rows = 2000;

    [Fact]
    public async Task Each_days_base_holds_only_the_changed_pages_and_every_point_restores_exactly()
    {
        using var rig = new Rig();
        var digests = new List<(DateTimeOffset At, string Digest)>();
        for (var day = 0; day < 8; day++)
        {
            await rig.DayAsync(changes: 10);
            digests.Add((rig.Clock.GetUtcNow(), rig.Digest()));
        }

        var bases = StreamHistory.Bases(rig.Generation);
        Assert.Equal([true, false, false, false, false, false, false, true, false], bases.Select(b => b.Full));
        Assert.All(bases.Where(b => !b.Full), b => Assert.True(b.Sidecar.SizeBytes * 10 < bases[0].Sidecar.SizeBytes, $"{Path.GetFileName(b.Path)}: {b.Sidecar.SizeBytes} bytes, the whole base {bases[0].Sidecar.SizeBytes}"));
        Assert.All(bases.Where(b => !b.Full), b => Assert.InRange(b.Sidecar.RowCounts[PageSetKind.ChangedPages], 5, 40));

        // Each moment right after a day's base is restored from that base alone (its chain, no transaction after it).
        foreach (var (at, digest) in digests)
        {
            Assert.Equal(digest, Rig.Digest(await rig.Sandbox.RestoreAsync(at)));
        }

        Assert.Equal(rig.Digest(), Rig.Digest(await rig.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task Retention_keeps_the_whole_chain_the_windows_first_moment_needs()
    {
        using var rig = new Rig();
        var digests = new List<(DateTimeOffset At, string Digest)>();
        for (var day = 0; day < 10; day++)
        {
            await rig.DayAsync(changes: 10);
            digests.Add((rig.Clock.GetUtcNow(), rig.Digest()));
        }

        // The window's start falls on the third page set of the first chain: the whole base and the page sets before it
        // stay with it, and the window's first moment restores.
        var cutoff = rig.Clock.GetUtcNow() - TimeSpan.FromDays(rig.Sandbox.Job.KeepDays);
        var bases = StreamHistory.Bases(rig.Generation);
        var anchor = bases.Count(b => b.Sidecar.Created <= cutoff) - 1;
        Assert.True(anchor == 3 && bases[0].Full && bases.Take(anchor + 1).Skip(1).All(b => !b.Full), string.Join(", ", bases.Select(b => Path.GetFileName(b.Path))));
        var (_, digest) = digests.Last(d => d.At <= cutoff);
        Assert.Equal(digest, Rig.Digest(await rig.Sandbox.RestoreAsync(cutoff + TimeSpan.FromSeconds(1))));

        // The window listed begins at the anchor, not at the older bases kept only to rebuild it (their transactions are gone).
        Assert.Equal(bases[anchor].Sidecar.Created, StreamCatalog.List(rig.Sandbox.Job)[^1].From);
        var tooOld = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync(bases[anchor - 1].Sidecar.Created));
        Assert.Contains("holds nothing as old as", tooOld.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_days_take_no_base_and_the_newest_point_restores_every_day()
    {
        using var rig = new Rig();
        await rig.DayAsync(changes: 10);
        for (var day = 0; day < 4; day++)
        {
            await rig.DayAsync(changes: 0);
            Assert.Equal(rig.Digest(), Rig.Digest(await rig.Sandbox.RestoreAsync()));
        }

        // One base per transaction it was taken after: the idle days' bases would have been copies of the last one.
        var bases = StreamHistory.Bases(rig.Generation);
        Assert.Equal(bases.Count, bases.Select(b => b.Txid).Distinct().Count());
        Assert.Equal(2, bases.Count);
    }

    [Fact]
    public async Task A_damaged_page_set_is_refused_and_the_points_before_it_still_restore()
    {
        using var rig = new Rig();
        await rig.DayAsync(changes: 10);
        var before = (rig.Clock.GetUtcNow(), rig.Digest());
        await rig.DayAsync(changes: 10);
        var newest = StreamHistory.Bases(rig.Generation)[^1];
        Assert.False(newest.Full);
        FlipAByte(newest.Path);

        var refused = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync());
        Assert.Contains("does not match its sidecar", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Equal(before.Item2, Rig.Digest(await rig.Sandbox.RestoreAsync(before.Item1)));
    }

    [Fact]
    public async Task A_chain_with_a_page_set_missing_is_refused()
    {
        using var rig = new Rig();
        for (var day = 0; day < 3; day++)
        {
            await rig.DayAsync(changes: 10);
        }

        var middle = StreamHistory.Bases(rig.Generation)[2];
        File.Delete(Sidecar.PathFor(middle.Path));
        File.Delete(middle.Path);

        var refused = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync());
        Assert.Contains("is not the one its place in the chain needs", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_whole_base_altered_together_with_its_sidecar_fails_the_image_hash_the_page_set_recorded()
    {
        using var rig = new Rig();
        await rig.DayAsync(changes: 10);
        var root = StreamHistory.Bases(rig.Generation)[0];

        // Someone who can write the folder changes a byte of page 2 (the table's root, which same-size updates never
        // touch, so no page set holds it), recompresses the base and writes the matching checksum and size into its
        // sidecar: every file of the chain matches its sidecar, and only the image's hash can tell.
        var codec = Codec.For(CompressionKind.Zstd, 3);
        byte[] image;
        using (var expanded = codec.OpenRead(File.OpenRead(root.Path)))
        using (var copy = new MemoryStream())
        {
            expanded.CopyTo(copy);
            image = copy.ToArray();
        }

        image[(2 * 4096) - 100] ^= 0x01;
        var stored = codec.CompressBlock(image, out var length);
        File.WriteAllBytes(root.Path, stored.AsSpan(0, length).ToArray());
        File.Delete(Sidecar.PathFor(root.Path));
        (root.Sidecar with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(stored.AsSpan(0, length))), SizeBytes = length }).Write(root.Path);

        var refused = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync());
        Assert.Contains("rebuild an image other than the one it recorded", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_follower_ships_on_while_a_base_is_written()
    {
        using var rig = new Rig(rows: 40000);
        var ct = TestContext.Current.CancellationToken;
        rig.Execute("UPDATE item SET body = randomblob(400) WHERE id = 2");
        await rig.Follower.StepAsync(ct);
        rig.Clock.Advance(TimeSpan.FromDays(1));
        await rig.Follower.StepAsync(ct); // the day's base begins beside the follower
        var basesBefore = StreamHistory.Bases(rig.Generation).Count;
        rig.Execute("UPDATE item SET body = randomblob(400) WHERE id = 1");
        var shipped = await rig.Follower.StepAsync(ct);
        var basesMeanwhile = StreamHistory.Bases(rig.Generation).Count;
        rig.Follower.WaitForBackground();

        Assert.Equal(1, shipped);
        Assert.Equal(basesBefore, basesMeanwhile);
        Assert.True(StreamHistory.Bases(rig.Generation).Count == basesBefore + 1, string.Join("\n", rig.Sandbox.Log.Entries.Select(e => e.Message)));
        rig.Follower.Seal(ct);
        Assert.Equal(rig.Digest(), Rig.Digest(await rig.Sandbox.RestoreAsync()));
    }

    private static void FlipAByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var b = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(b ^ 0x40));
    }

    /// <summary>An app's database of <see cref="Rows"/> rows of 400 random bytes (about 220 pages per 1000), followed in this process on a fake clock.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly SqliteConnection _app;
        private readonly Random _random = new(7);
        private readonly int _rows;

        public Rig(int rows = Rows)
        {
            _rows = rows;
            _app = Sandbox.OpenApp();
            Execute($"CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) INSERT INTO item(body) SELECT randomblob(400) FROM n");
            Follower = new WalFollower(Sandbox.Job, Clock, TimeZoneInfo.Utc, new Microsoft.Extensions.Logging.LoggerFactory([Sandbox.Log]).CreateLogger("follower"));
            Follower.StepAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        }

        public StreamSandbox Sandbox { get; } = new();

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));

        public WalFollower Follower { get; }

        public Generation Generation => Generation.List(Sandbox.Job.Folder)[^1];

        /// <summary>
        /// A day: an hour after the last base the app changes <paramref name="changes"/> rows and the follower ships them,
        /// then the day passes and its base is written (at the clock's time when this returns).
        /// </summary>
        public async Task DayAsync(int changes)
        {
            var ct = TestContext.Current.CancellationToken;
            Clock.Advance(TimeSpan.FromHours(1));
            for (var i = 0; i < changes; i++)
            {
                Execute($"UPDATE item SET body = randomblob(400) WHERE id = {_random.Next(1, _rows + 1)}");
            }

            await Follower.StepAsync(ct);
            Clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromHours(1));
            await Follower.StepAsync(ct);
            Follower.WaitForBackground();
            Follower.Seal(ct);
        }

        public void Execute(string sql) => _app.Execute(sql);

        /// <summary>The app's rows, hashed.</summary>
        public string Digest() => Digest(Sandbox.Database);

        public static string Digest(string path)
        {
            using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT id, body FROM item ORDER BY id";
            using var rows = read.ExecuteReader();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            while (rows.Read())
            {
                hash.AppendData(BitConverter.GetBytes(rows.GetInt64(0)));
                hash.AppendData((byte[])rows[1]);
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        public void Dispose()
        {
            Follower.Dispose();
            _app.Dispose();
            Sandbox.Dispose();
        }
    }
}

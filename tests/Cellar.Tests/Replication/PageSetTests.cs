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
    [Fact]
    public async Task Each_days_base_holds_only_the_changed_pages_and_every_point_restores_exactly()
    {
        using var rig = new FollowedApp();
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
            Assert.Equal(digest, FollowedApp.Digest(await rig.Sandbox.RestoreAsync(at)));
        }

        Assert.Equal(rig.Digest(), FollowedApp.Digest(await rig.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task A_few_bytes_changed_in_incompressible_pages_store_as_almost_nothing()
    {
        using var rig = new FollowedApp();
        await rig.DayAsync(changes: 0);

        // One byte of every ninth row changed: its page is otherwise random bytes, which no compressor shrinks, so only
        // storing each page as its change from the parent's keeps the page set small.
        rig.Execute("UPDATE item SET body = CAST(substr(body, 1, 399) || x'5a' AS BLOB) WHERE id % 9 = 0");
        await rig.DayAsync(changes: 0);

        var set = StreamHistory.Bases(rig.Generation)[^1];
        var changed = set.Sidecar.RowCounts[PageSetKind.ChangedPages];
        Assert.False(set.Full);
        Assert.InRange(changed, 200, 500);
        Assert.True(set.Sidecar.SizeBytes * 20 < changed * 4096, $"{changed} changed pages stored in {set.Sidecar.SizeBytes} bytes");
        Assert.Equal(rig.Digest(), FollowedApp.Digest(await rig.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task A_page_set_of_the_first_format_with_whole_pages_still_restores()
    {
        using var rig = new FollowedApp();
        await rig.DayAsync(changes: 10);
        await rig.DayAsync(changes: 10);
        var expected = rig.Digest();
        var chain = StreamHistory.Bases(rig.Generation);
        Assert.Equal([true, false, false], chain.Select(b => b.Full));

        // The second page set rewritten as the first format stored it ("CSP1": each changed page whole), over a parent
        // chain that stays as written: the rebuild must read each file by its own format.
        var codec = Codec.For(CompressionKind.Zstd, 3);
        using var delta = new PageDelta();
        var image = Expand(codec, chain[0].Path);
        var first = Read(codec, chain[1].Path);
        Array.Resize(ref image, (int)first.Reader.Pages * 4096);
        foreach (var (number, data) in first.Pages)
        {
            Whole(delta, image, number, data).CopyTo(image.AsSpan((int)(number - 1) * 4096));
        }

        var second = Read(codec, chain[2].Path);
        using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var old = new MemoryStream();
        void Write(ReadOnlySpan<byte> bytes)
        {
            content.AppendData(bytes);
            old.Write(bytes);
        }

        var header = PageSet.Header(second.Reader.Txid, second.Reader.Parent, 4096, second.Reader.Pages);
        BitConverter.TryWriteBytes(header, PageSet.MagicWhole);
        Write(header);
        foreach (var (number, data) in second.Pages)
        {
            Write(BitConverter.GetBytes((uint)number));
            Write(Whole(delta, image, number, data));
        }

        old.Write(PageSet.Trailer(second.Pages.Count, second.Reader.ImageHash!, content));
        var stored = codec.CompressBlock(old.ToArray(), out var length);
        File.WriteAllBytes(chain[2].Path, stored.AsSpan(0, length).ToArray());
        File.Delete(Sidecar.PathFor(chain[2].Path));
        (chain[2].Sidecar with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(stored.AsSpan(0, length))), SizeBytes = length }).Write(chain[2].Path);

        Assert.Equal(expected, FollowedApp.Digest(await rig.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task Retention_keeps_the_whole_chain_the_windows_first_moment_needs()
    {
        using var rig = new FollowedApp();
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
        Assert.Equal(digest, FollowedApp.Digest(await rig.Sandbox.RestoreAsync(cutoff + TimeSpan.FromSeconds(1))));

        // The window listed begins at the anchor, not at the older bases kept only to rebuild it (their transactions are gone).
        Assert.Equal(bases[anchor].Sidecar.Created, StreamCatalog.List(rig.Sandbox.Job)[^1].From);
        var tooOld = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync(bases[anchor - 1].Sidecar.Created));
        Assert.Contains("holds nothing as old as", tooOld.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_days_take_no_base_and_the_newest_point_restores_every_day()
    {
        using var rig = new FollowedApp();
        await rig.DayAsync(changes: 10);
        for (var day = 0; day < 4; day++)
        {
            await rig.DayAsync(changes: 0);
            Assert.Equal(rig.Digest(), FollowedApp.Digest(await rig.Sandbox.RestoreAsync()));
        }

        // One base per transaction it was taken after: the idle days' bases would have been copies of the last one.
        var bases = StreamHistory.Bases(rig.Generation);
        Assert.Equal(bases.Count, bases.Select(b => b.Txid).Distinct().Count());
        Assert.Equal(2, bases.Count);
    }

    [Fact]
    public async Task A_damaged_page_set_is_refused_and_the_points_before_it_still_restore()
    {
        using var rig = new FollowedApp();
        await rig.DayAsync(changes: 10);
        var before = (rig.Clock.GetUtcNow(), rig.Digest());
        await rig.DayAsync(changes: 10);
        var newest = StreamHistory.Bases(rig.Generation)[^1];
        Assert.False(newest.Full);
        FlipAByte(newest.Path);

        var refused = await Assert.ThrowsAnyAsync<CellarException>(() => rig.Sandbox.RestoreAsync());
        Assert.Contains("does not match its sidecar", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Equal(before.Item2, FollowedApp.Digest(await rig.Sandbox.RestoreAsync(before.Item1)));
    }

    [Fact]
    public async Task A_chain_with_a_page_set_missing_is_refused()
    {
        using var rig = new FollowedApp();
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
        using var rig = new FollowedApp();
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
        using var rig = new FollowedApp(rows: 40000);
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
        Assert.Equal(rig.Digest(), FollowedApp.Digest(await rig.Sandbox.RestoreAsync()));
    }

    private static byte[] Expand(Codec codec, string path)
    {
        using var expanded = codec.OpenRead(File.OpenRead(path));
        using var copy = new MemoryStream();
        expanded.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A page set's pages as stored (changes or whole), with its reader for the header and trailer.</summary>
    private static (PageSet.Reader Reader, List<(long Number, byte[] Data)> Pages) Read(Codec codec, string path)
    {
        var reader = new PageSet.Reader(new MemoryStream(Expand(codec, path)), path);
        var pages = new List<(long, byte[])>();
        for (reader.Start(); reader.Current != 0; reader.Next())
        {
            pages.Add((reader.Current, reader.Data.ToArray()));
        }

        Assert.True(reader.Changes);
        return (reader, pages);
    }

    /// <summary>The page a page set's entry makes over <paramref name="image"/>, the parent's: a change decoded, or the page as stored.</summary>
    private static byte[] Whole(PageDelta delta, byte[] image, long number, byte[] data)
    {
        if (data.Length == 4096)
        {
            return data;
        }

        var page = new byte[4096];
        delta.Decode(data, image.AsSpan((int)(number - 1) * 4096, 4096), page);
        return page;
    }

    private static void FlipAByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var b = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(b ^ 0x40));
    }
}

using Cellar.Core.Catalog;

namespace Cellar.Core.Replication;

/// <summary>
/// What a generation holds, read back for a restore or a listing: its base images and its transactions in order,
/// each checked, with any hole in the numbering reported as such (a missing segment), never stepped over.
/// </summary>
internal static class StreamHistory
{
    /// <summary>How many times a read lists the segments again because a merge changed them under it.</summary>
    private const int MaxRelistings = 100;

    /// <summary>The generation's proven base images, oldest first.</summary>
    public static IReadOnlyList<StreamBaseImage> Bases(Generation generation)
    {
        var bases = new List<StreamBaseImage>();
        foreach (var path in Directory.EnumerateFiles(generation.Folder, "base-*.zst"))
        {
            if (Generation.BaseTxid(Path.GetFileName(path)) is { } txid && Sidecar.TryRead(path) is { Verified: true } sidecar)
            {
                bases.Add(new StreamBaseImage(txid, path, sidecar));
            }
        }

        // Two bases at one transaction (an older version took a base on an idle day) keep the order they were taken in.
        return [.. bases.OrderBy(b => b.Txid).ThenBy(b => b.Sidecar.Created)];
    }

    /// <summary>
    /// The bases a restore can start from: those after which every transaction is still held. Retention lets go of the
    /// segments before the window's anchor but keeps the older bases of the anchor's chain, which rebuild the anchor
    /// and nothing else.
    /// </summary>
    public static IReadOnlyList<StreamBaseImage> StartingPoints(Generation generation) => StartingPoints(generation, Bases(generation));

    /// <summary>As <see cref="StartingPoints(Generation)"/>, of the generation's <paramref name="bases"/> already read.</summary>
    public static IReadOnlyList<StreamBaseImage> StartingPoints(Generation generation, IReadOnlyList<StreamBaseImage> bases)
    {
        if (bases.Count == 0)
        {
            return bases;
        }

        var firstHeld = generation.Segments() is [var first, ..] ? first.First : StreamJournal.FirstTxid(generation.JournalPath) ?? bases[^1].Txid + 1;
        return [.. bases.Where(b => b.Txid >= firstHeld - 1)];
    }

    /// <summary>
    /// Every transaction after <paramref name="txid"/>, in order: sealed segments first, then the journal up to its last
    /// whole record. A transaction missing in between throws, naming the hole. The follower may seal the journal while
    /// this reads (a restore beside a running daemon): what seems missing from the journal is looked for again in the
    /// segments, which then hold it; and a segment merged into a larger one meanwhile is found in that one. Segments
    /// that overlap (a merge cut short) are read as one. A <paramref name="cursor"/> kept between calls saves reading the
    /// journal again up to where the last call stopped.
    /// </summary>
    public static IEnumerable<StreamRecord> After(Generation generation, long txid, JournalCursor? cursor = null)
    {
        var expected = txid + 1;
        var pageSize = generation.Manifest.PageSize;
        var relisted = 0;
        for (var attempt = 0; ; attempt++)
        {
            var merged = false;
            var listing = generation.Segments();
            foreach (var (first, last, path) in listing)
            {
                if (last < expected)
                {
                    continue;
                }

                // A merge (compaction) writes the large segment, then deletes the small ones: a listing made meanwhile
                // can lack one or both, and a segment listed can be gone when opened. Listed again while the folder
                // keeps changing, it holds them.
                var records = first > expected ? null : StreamSegment.TryRecords(path, pageSize);
                if (records is null)
                {
                    if (relisted++ < MaxRelistings && !generation.Segments().SequenceEqual(listing))
                    {
                        merged = true;
                        break;
                    }

                    throw Hole(generation, expected, first > expected ? first - 1 : last);
                }

                foreach (var record in records)
                {
                    if (record.Txid < expected)
                    {
                        continue;
                    }

                    if (record.Txid != expected || record.Txid > last)
                    {
                        throw new CellarException($"segment {path} holds transaction {record.Txid} where {expected} belongs");
                    }

                    expected++;
                    yield return record;
                }

                if (expected <= last)
                {
                    throw new CellarException($"segment {path} ends at transaction {expected - 1}, not {last} as its name says");
                }
            }

            if (merged)
            {
                continue;
            }

            var (journal, problem) = JournalAfter(generation, expected, cursor);
            foreach (var record in journal)
            {
                expected++;
                yield return record;
            }

            if (problem is null)
            {
                yield break;
            }

            if (attempt == 2 || !generation.Segments().Any(s => s.First <= expected && s.Last >= expected))
            {
                throw problem;
            }
        }
    }

    /// <summary>
    /// The journal's records from <paramref name="expected"/> on, and what stopped the read short, if anything: a record
    /// out of line or a damaged one (possibly the journal being emptied by a seal under the reader). With a
    /// <paramref name="cursor"/> that knows where <paramref name="expected"/> begins, in the same journal, the read
    /// starts there; anything wrong with a read from there (a seal in between) is settled by reading the whole journal.
    /// </summary>
    private static (List<StreamRecord> Records, CellarException? Problem) JournalAfter(Generation generation, long expected, JournalCursor? cursor)
    {
        if (cursor?.OffsetAfter(generation, expected - 1) is { } offset && StreamJournal.FirstTxid(generation.JournalPath) == cursor.First
            && JournalAfter(generation, expected, cursor, offset, cursor.First) is { Problem: null } read)
        {
            return read;
        }

        return JournalAfter(generation, expected, cursor, 0, null);
    }

    private static (List<StreamRecord> Records, CellarException? Problem) JournalAfter(Generation generation, long expected, JournalCursor? cursor, long offset, long? first)
    {
        var records = new List<StreamRecord>();
        try
        {
            foreach (var (record, end) in StreamJournal.ReadFrom(generation.JournalPath, generation.Manifest.PageSize, offset))
            {
                first ??= record.Txid;
                cursor?.Read(generation, first.Value, record.Txid, end);
                if (record.Txid < expected + records.Count)
                {
                    continue;
                }

                if (record.Txid != expected + records.Count)
                {
                    return (records, Hole(generation, expected + records.Count, record.Txid - 1));
                }

                records.Add(record);
            }
        }
        catch (CellarException e)
        {
            return (records, e);
        }

        return (records, null);
    }

    private static CellarException Hole(Generation generation, long from, long to) =>
        new($"generation {generation.Id} is missing transactions {from} to {to} (a segment is gone); it cannot be restored past transaction {from - 1}");
}

/// <summary>
/// A base image: the database as it was after transaction <paramref name="Txid"/> of its generation, stored whole or as
/// a page set over the base before it.
/// </summary>
internal sealed record StreamBaseImage(long Txid, string Path, Sidecar Sidecar)
{
    /// <summary>Whether it is stored whole (else a page set, which needs its chain).</summary>
    public bool Full => Generation.IsFullBase(System.IO.Path.GetFileName(Path));

    /// <summary>
    /// The bases that make the image of <paramref name="bases"/>[<paramref name="index"/>] (oldest first): the newest
    /// full base at or before it, and every page set after that up to it.
    /// </summary>
    public static IReadOnlyList<T> Chain<T>(IReadOnlyList<T> bases, int index, Func<T, bool> full)
    {
        var root = index;
        while (root > 0 && !full(bases[root]))
        {
            root--;
        }

        return full(bases[root]) ? [.. bases.Skip(root).Take(index - root + 1)]
            : throw new CellarException("a page set with no full base before it in its generation (the full base is gone)");
    }
}

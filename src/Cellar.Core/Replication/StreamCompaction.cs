using Cellar.Core.IO;

namespace Cellar.Core.Replication;

/// <summary>
/// Merges a generation's sealed segments, ten seconds of transactions each, into few large ones, so a restore of a day
/// reads tens of files, not thousands. The newest <see cref="KeptAsSealed"/> segments stay as sealed (what is merged
/// once is not merged again at every pass); older ones are merged in runs of
/// consecutive transactions up to <see cref="MergedBytes"/> of stored bytes, never across a base (retention lets go of
/// what lies before an anchor base, segment by segment). A merged segment is written as a sealed one is (temp, fsync,
/// read back, rename); only then do the small ones go. A merge cut short leaves segments inside a larger one, which a
/// restore reads as one and the next compaction removes.
/// </summary>
internal static class StreamCompaction
{
    /// <summary>The most stored bytes a merged segment is made of.</summary>
    public const long MergedBytes = 32 << 20;

    /// <summary>How many of the newest segments stay as they were sealed (ten minutes of them at one seal every 10 s).</summary>
    public const int KeptAsSealed = 60;

    /// <summary>
    /// Merges what is due in <paramref name="generation"/>; returns the merged segments written, how many they replaced,
    /// and why any run was left as it was (a damaged segment in it: the restore that needs it says so; the other runs
    /// are merged all the same).
    /// </summary>
    public static (int Written, int Replaced, IReadOnlyList<string> Problems) Compact(Generation generation, CancellationToken cancellationToken)
    {
        RemoveContained(generation);
        var bases = StreamHistory.Bases(generation).Select(b => b.Txid).ToHashSet();
        var (written, replaced, problems) = (0, 0, new List<string>());
        foreach (var run in Runs(generation.Segments().SkipLast(KeptAsSealed), bases))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var records = new ConcatenatedStream(run.Select(s => (Func<Stream>)(() => StreamSegment.OpenRecords(s.Path))));
                StreamSegment.Write(generation, run[0].First, run[^1].Last, records, cancellationToken);
            }
            catch (Exception e) when (e is CellarException or InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
            {
                problems.Add($"segments {Path.GetFileName(run[0].Path)} to {Path.GetFileName(run[^1].Path)} not merged: {e.Message}");
                continue;
            }

            foreach (var small in run)
            {
                File.Delete(small.Path);
            }

            (written, replaced) = (written + 1, replaced + run.Count);
        }

        return (written, replaced, problems);
    }

    /// <summary>
    /// Runs of two or more segments to merge: consecutive transactions, at most <see cref="MergedBytes"/> together, and
    /// none reaching past a base's transaction but the first.
    /// </summary>
    private static IEnumerable<List<(long First, long Last, string Path)>> Runs(IEnumerable<(long First, long Last, string Path)> segments, HashSet<long> bases)
    {
        var run = new List<(long First, long Last, string Path)>();
        long bytes = 0;
        foreach (var segment in segments)
        {
            var info = new FileInfo(segment.Path);
            // A segment across a base's transaction starts a run: the runs before it then end at or before the base,
            // and go with the segments before an anchor.
            var acrossBase = bases.Any(b => segment.First <= b && b < segment.Last);
            if (run.Count > 0 && (segment.First != run[^1].Last + 1 || bytes + info.Length > MergedBytes || acrossBase))
            {
                if (run.Count > 1)
                {
                    yield return run;
                }

                (run, bytes) = ([], 0);
            }

            run.Add(segment);
            bytes += info.Length;
            if (bases.Contains(segment.Last))
            {
                // A base follows this segment: what comes after it is kept longer than what comes before.
                if (run.Count > 1)
                {
                    yield return run;
                }

                (run, bytes) = ([], 0);
            }
        }

        if (run.Count > 1)
        {
            yield return run;
        }
    }

    /// <summary>Removes segments whose transactions a larger one holds too (a merge cut short before its deletes).</summary>
    private static void RemoveContained(Generation generation)
    {
        // In order of first transaction, the longest first: a segment is inside another exactly when one before it
        // reaches as far (one pass, for the tens of thousands a week of ten-second seals leaves before its first merge).
        var reach = 0L;
        foreach (var segment in generation.Segments().OrderBy(s => s.First).ThenByDescending(s => s.Last))
        {
            if (segment.Last <= reach)
            {
                File.Delete(segment.Path);
            }

            reach = Math.Max(reach, segment.Last);
        }
    }
}

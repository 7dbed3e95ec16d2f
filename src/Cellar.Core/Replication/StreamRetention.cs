using Cellar.Core.Configuration;

namespace Cellar.Core.Replication;

/// <summary>
/// What a stream keeps: every moment of the last <c>keepDays</c> stays restorable, and nothing older is kept for its own
/// sake. Within a generation, the newest base at or before the window's start anchors it: the segments wholly before
/// the anchor go, and the bases before the anchor's chain (a page set needs the bases it was made over). A generation
/// goes once a newer one began before the window's start. The newest base of the newest generation is never removed.
/// </summary>
internal static class StreamRetention
{
    /// <summary>Removes what the window no longer needs; returns what it removed.</summary>
    public static IReadOnlyList<string> Prune(StreamJob job, DateTimeOffset now)
    {
        var removed = new List<string>();
        var generations = Generation.List(job.Folder);
        var bases = generations.Select(StreamHistory.Bases).ToList();
        var cuts = Plan([.. bases.Select(b => (IReadOnlyList<(long, DateTimeOffset, bool)>)[.. b.Select(i => (i.Txid, i.Sidecar.Created, i.Full))])], now - TimeSpan.FromDays(job.KeepDays));
        for (var i = 0; i < generations.Count; i++)
        {
            var generation = generations[i];
            switch (cuts[i])
            {
                case { Whole: true }:
                    Remove(job, generation);
                    removed.Add($"generation {generation.Id}");
                    break;
                case { } cut:
                    foreach (var old in bases[i].Where(b => b.Txid < cut.KeepFrom))
                    {
                        File.Delete(Catalog.Sidecar.PathFor(old.Path));
                        File.Delete(old.Path);
                        removed.Add(Path.GetFileName(old.Path));
                    }

                    foreach (var (_, last, path) in generation.Segments().Where(s => s.Last <= cut.Anchor))
                    {
                        File.Delete(path);
                        removed.Add(Path.GetFileName(path));
                    }

                    break;
            }
        }

        return removed;
    }

    /// <summary>
    /// The rule, for the job's folder and for a destination alike: given each generation's bases (oldest generation
    /// first; each base's transaction, time, and whether it is whole rather than a page set), what goes. A generation
    /// goes whole once the next one's first base is older than <paramref name="cutoff"/>; otherwise its newest base at
    /// or before the cutoff is the anchor: the segments that end at or before it go, and the bases before the anchor's
    /// chain (the newest whole base at or before it: a page set is nothing without the bases it was made over). Null:
    /// nothing goes.
    /// </summary>
    public static IReadOnlyList<RetentionCut?> Plan(IReadOnlyList<IReadOnlyList<(long Txid, DateTimeOffset Created, bool Full)>> generations, DateTimeOffset cutoff) =>
        [.. generations.Select((bases, i) =>
            i + 1 < generations.Count && generations[i + 1] is [var next, ..] && next.Created <= cutoff ? new RetentionCut(true, 0, 0)
            : bases.Where(b => b.Created <= cutoff).Select(b => (long?)b.Txid).LastOrDefault() is { } anchor
                ? new RetentionCut(false, anchor, bases.Where(b => b.Full && b.Txid <= anchor).Select(b => b.Txid).DefaultIfEmpty(0).Max())
            : null)];

    /// <summary>
    /// What a follower killed mid-way left, swept as the next one starts (it holds the folder's lock): temp files of a
    /// segment or base being written, a generation whose first base never got written, a removal cut short.
    /// </summary>
    public static void SweepLeftovers(StreamJob job)
    {
        if (!Directory.Exists(job.Folder))
        {
            return;
        }

        foreach (var left in Directory.EnumerateDirectories(job.Folder, ".*.removing"))
        {
            Directory.Delete(left, recursive: true);
        }

        foreach (var generation in Generation.List(job.Folder))
        {
            foreach (var temp in Directory.EnumerateFiles(generation.Folder).Where(f => IO.TempFile.IsTempName(Path.GetFileName(f))))
            {
                File.Delete(temp);
            }

            if (StreamHistory.Bases(generation).Count == 0)
            {
                Remove(job, generation);
            }
        }
    }

    /// <summary>Removes a generation, hidden first by one rename: a removal cut short leaves a folder no listing reads.</summary>
    private static void Remove(StreamJob job, Generation generation)
    {
        var hidden = Path.Combine(job.Folder, "." + generation.Id + ".removing");
        Directory.Move(generation.Folder, hidden);
        Directory.Delete(hidden, recursive: true);
    }
}

/// <summary>
/// What retention removes of one generation: all of it, or what lies before its anchor base (the segments ending at or
/// before <c>Anchor</c>, the bases before <c>KeepFrom</c>, where the anchor's chain begins).
/// </summary>
internal sealed record RetentionCut(bool Whole, long Anchor, long KeepFrom);

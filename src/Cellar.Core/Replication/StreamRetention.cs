using Cellar.Core.Configuration;

namespace Cellar.Core.Replication;

/// <summary>
/// What a stream keeps: every moment of the last <c>keepDays</c> stays restorable, and nothing older is kept for its own
/// sake. Within a generation, the newest base at or before the window's start anchors it: older bases and the segments
/// wholly before the anchor go. A generation goes once a newer one began before the window's start. The newest base of
/// the newest generation is never removed.
/// </summary>
internal static class StreamRetention
{
    /// <summary>Removes what the window no longer needs; returns what it removed.</summary>
    public static IReadOnlyList<string> Prune(StreamJob job, DateTimeOffset now)
    {
        var cutoff = now - TimeSpan.FromDays(job.KeepDays);
        var removed = new List<string>();
        var generations = Generation.List(job.Folder);
        for (var i = 0; i < generations.Count; i++)
        {
            var generation = generations[i];
            var bases = StreamHistory.Bases(generation);
            if (i + 1 < generations.Count && StreamHistory.Bases(generations[i + 1]) is [var next, ..] && next.Sidecar.Created <= cutoff)
            {
                Remove(job, generation);
                removed.Add($"generation {generation.Id}");
                continue;
            }

            if (bases.LastOrDefault(b => b.Sidecar.Created <= cutoff) is not { } anchor)
            {
                continue;
            }

            foreach (var old in bases.Where(b => b.Txid < anchor.Txid))
            {
                File.Delete(Catalog.Sidecar.PathFor(old.Path));
                File.Delete(old.Path);
                removed.Add(Path.GetFileName(old.Path));
            }

            foreach (var (_, last, path) in generation.Segments().Where(s => s.Last <= anchor.Txid))
            {
                File.Delete(path);
                removed.Add(Path.GetFileName(path));
            }
        }

        return removed;
    }

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

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
                // Hidden first, by one rename: a removal cut short leaves a folder no listing reads, swept next time.
                var hidden = Path.Combine(job.Folder, "." + generation.Id + ".removing");
                Directory.Move(generation.Folder, hidden);
                Directory.Delete(hidden, recursive: true);
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

        foreach (var left in Directory.EnumerateDirectories(job.Folder, ".*.removing"))
        {
            Directory.Delete(left, recursive: true);
        }

        return removed;
    }
}

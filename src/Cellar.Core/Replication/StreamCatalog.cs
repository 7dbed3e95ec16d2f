using Cellar.Core.Configuration;

namespace Cellar.Core.Replication;

/// <summary>What a stream job holds on disk: its generations, each with the window it can restore.</summary>
public static class StreamCatalog
{
    /// <summary>The generations of <paramref name="job"/>, oldest first, with their windows; those without a proven base are left out.</summary>
    public static IReadOnlyList<StreamGeneration> List(StreamJob job)
    {
        var found = new List<StreamGeneration>();
        foreach (var generation in Generation.List(job.Folder))
        {
            var all = StreamHistory.Bases(generation);
            var bases = StreamHistory.StartingPoints(generation, all);
            if (bases.Count == 0)
            {
                continue;
            }

            var (last, to) = (bases[^1].Txid, bases[^1].Sidecar.Created);
            var segments = generation.Segments();
            var journal = StreamJournal.Read(generation.JournalPath, generation.Manifest.PageSize).LastOrDefault()
                ?? (segments.Count > 0 ? StreamSegment.Records(segments[^1].Path, generation.Manifest.PageSize).LastOrDefault() : null);
            if (journal is { } newest && newest.Txid > last)
            {
                (last, to) = (newest.Txid, newest.Committed);
            }

            var bytes = Directory.EnumerateFiles(generation.Folder).Sum(f => new FileInfo(f).Length);
            found.Add(new StreamGeneration(generation.Id, bases[0].Sidecar.Created, to, last, all.Count, segments.Count, bytes));
        }

        return found;
    }
}

/// <summary>One generation of a stream as <c>cellar list</c> shows it.</summary>
/// <param name="Id">Its id (its folder's name).</param>
/// <param name="From">The oldest moment it restores: its first base that every transaction since is held after.</param>
/// <param name="To">The newest: the last transaction shipped.</param>
/// <param name="Transactions">Transactions shipped since its first base.</param>
/// <param name="Bases">Base images it holds.</param>
/// <param name="Segments">Sealed segments it holds.</param>
/// <param name="SizeBytes">Bytes on disk.</param>
public sealed record StreamGeneration(string Id, DateTimeOffset From, DateTimeOffset To, long Transactions, int Bases, int Segments, long SizeBytes);

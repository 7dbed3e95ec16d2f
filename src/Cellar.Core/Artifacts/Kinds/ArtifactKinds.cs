using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Dumps;
using Cellar.Core.Logs;
using Cellar.Core.Progress;
using Cellar.Core.Replication;
using Cellar.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Artifacts.Kinds;

/// <summary>
/// Every kind of artifact Cellar stores, found by what a sidecar records, and the source a job's run stores. Adding a
/// kind is its own folder (its <see cref="ArtifactSource"/> and <see cref="ArtifactKind"/>) and a line here. This sits in a folder of its own
/// because it is above the kinds it lists, while Artifacts/ is below them (each kind is built on it): together they
/// would be a cycle.
/// </summary>
internal static class ArtifactKinds
{
    /// <summary>Every kind, the default (a sidecar that names none) first.</summary>
    public static IReadOnlyList<ArtifactKind> All { get; } = [SnapshotKind.Instance, DumpKind.Instance, LogArchiveKind.Instance, PageSetKind.Instance];

    /// <summary>
    /// What a run of <paramref name="job"/> stores, ready for the <see cref="ArtifactWriter"/>: a snapshot of the database or
    /// a dump of its tables. A rotate job archives each of its logs through the writer itself (Logs/), so it has none.
    /// </summary>
    public static ArtifactSource SourceFor(JobConfig job, TimeProvider time, ILogger? notices, IProgress<JobProgress>? progress) => job switch
    {
        SnapshotJob => new SnapshotSource(job, time, notices, progress),
        TablesJob tables => new DumpSource(tables, time, notices, progress),
        _ => throw new ArgumentException($"job '{job.Name}' rotates logs: its archives come from Logs/, one per log", nameof(job)),
    };

    /// <summary>The kind <paramref name="sidecar"/> records (an absent kind is a snapshot); null for one this version does not know.</summary>
    public static ArtifactKind? Of(Sidecar sidecar) => sidecar.Kind is null ? All[0] : All.FirstOrDefault(k => k.Name == sidecar.Kind);

    /// <summary>
    /// The kind of the stored file <paramref name="backupPath"/> by its sidecar, or by its name when the sidecar is
    /// missing, unreadable or names a kind this version does not know (its check then says why).
    /// </summary>
    public static ArtifactKind OfBackup(string backupPath)
    {
        try
        {
            if (Sidecar.TryRead(backupPath) is { } sidecar && Of(sidecar) is { } recorded)
            {
                return recorded;
            }
        }
        catch (InvalidDataException)
        {
            // Told by its name below; the check of the file reports the sidecar.
        }

        return All.FirstOrDefault(k => k.HasItsName(backupPath)) ?? All[0];
    }

    /// <summary>
    /// True when <paramref name="fileName"/> and <paramref name="sidecar"/> disagree on whether it is of a kind its name
    /// can tell (<see cref="ArtifactKind.NameMark"/>): for copies whose seal does not cover the sidecar's kind.
    /// </summary>
    public static bool NameContradicts(Sidecar sidecar, string fileName)
    {
        var recorded = Of(sidecar);
        return All.Any(k => k.NameMark is not null && (recorded == k) != k.HasItsName(fileName));
    }
}

using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.IO;
using Cellar.Core.Sqlite;

namespace Cellar.Core.Snapshots;

/// <summary>
/// A whole-database snapshot: proven by expanding it into a database file, checksum on the way, then
/// <c>integrity_check</c>, <c>foreign_key_check</c> and row counts against the sidecar; that file is what a restore
/// swaps in.
/// </summary>
internal sealed class SnapshotKind : ArtifactKind
{
    /// <summary>The one instance.</summary>
    public static readonly SnapshotKind Instance = new();

    private SnapshotKind()
        : base("snapshot", "database snapshot", "backup", RestoreWay.WholeDatabase, "restore it whole, without --tables")
    {
    }

    /// <inheritdoc/>
    public override string? Recorded => null;

    /// <inheritdoc/>
    public override async Task<VerificationResult> ProveAsync(StoredArtifact stored, string scratchPath, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        string sha;
        UnixFiles.FileId? expanded;
        try
        {
            (sha, expanded) = await StoredProof.ExpandAsync(stored, scratchPath, ExpandedLimit(stored.Sidecar), progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            return StoredProof.Undecodable(stored, e);
        }

        if (!StoredProof.Matches(sha, stored))
        {
            return StoredProof.ChecksumMismatch(stored, sha);
        }

        CrashPoint.Reach(CrashPoint.VerifyExpanded, cancellationToken);
        try
        {
            SqliteFiles.RequireDatabaseFile(scratchPath, "decompressed backup");
            var inspection = Inspection.Of(scratchPath, cancellationToken);
            var problems = inspection.Compare(stored.Sidecar.RowCounts, stored.Sidecar.ForeignKeyViolations).ToList();
            return new VerificationResult(stored.Path, problems, stored.Sidecar) { Expanded = expanded };
        }
        catch (Exception e) when (e is CellarException or Microsoft.Data.Sqlite.SqliteException)
        {
            return VerificationResult.Failed(stored.Path, e.Message, stored.Sidecar);
        }
    }
}

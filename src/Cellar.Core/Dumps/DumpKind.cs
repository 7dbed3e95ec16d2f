using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.IO;
using Cellar.Core.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>
/// An SQL dump of chosen tables: proven by loading it into an empty scratch database (checksum taken on the way) and
/// counting every table against the sidecar; that database is what a table restore copies from.
/// </summary>
internal sealed class DumpKind : ArtifactKind
{
    /// <summary>The one instance.</summary>
    public static readonly DumpKind Instance = new();

    private DumpKind()
        : base("dump", "table dump", "backup", RestoreWay.Tables, "see TableRestore")
    {
    }

    /// <inheritdoc/>
    public override string? NameMark => ".sql";

    /// <inheritdoc/>
    public override string Summary(Sidecar sidecar, Func<long, string> bytes) => $"{sidecar.RowCounts.Values.Sum()} rows of {sidecar.RowCounts.Count} tables";

    /// <summary>Dump sidecars written before they recorded the SQL's length get deflate's largest ratio (1032:1), far above any real dump's.</summary>
    public override long ExpandedLimit(Sidecar sidecar) => sidecar.SourceBytes > 0 ? sidecar.SourceBytes : (sidecar.SizeBytes * 1032) + (1 << 20);

    /// <inheritdoc/>
    public override async Task<VerificationResult> ProveAsync(StoredArtifact stored, string scratchPath, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        // The checks sit inside the try, after the load: a variable assigned in a try and read after it is one that
        // mutation testing cannot mutate around (a removed statement leaves it unassigned), which hid this method.
        try
        {
            var loaded = await OwnThread.Run(() => DumpLoad.Into(stored.Path, scratchPath, stored.Codec, ExpandedLimit(stored.Sidecar), progress, cancellationToken), cancellationToken).ConfigureAwait(false);
            return !StoredProof.Matches(loaded.Sha, stored)
                ? StoredProof.ChecksumMismatch(stored, loaded.Sha)
                : new VerificationResult(stored.Path, Inspection.CompareCounts(loaded.Counts, stored.Sidecar.RowCounts, "the dump").ToList(), stored.Sidecar);
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
        {
            return StoredProof.Undecodable(stored, e, "does not load");
        }
        catch (IOException e)
        {
            throw StoredProof.CannotWrite(scratchPath, e);
        }
    }
}

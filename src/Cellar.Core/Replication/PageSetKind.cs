using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.IO;

namespace Cellar.Core.Replication;

/// <summary>
/// A stream's base stored as the pages that changed since the base before it (<see cref="PageSet"/>). Alone it is
/// proven as far as it can be: its stored bytes, its structure and its own checksum; the image it makes with its chain
/// is proven by every restore of the stream (<see cref="BaseChain"/>). It is never restored by itself.
/// </summary>
internal sealed class PageSetKind : ArtifactKind
{
    /// <summary>The one instance.</summary>
    public static readonly PageSetKind Instance = new();

    /// <summary>The sidecar's count of the pages it holds (in <see cref="Sidecar.RowCounts"/>).</summary>
    public const string ChangedPages = "changedPages";

    private PageSetKind()
        : base("stream-pages", "stream base page set", "base", RestoreWay.None, "restore its stream with cellar restore --job JOB")
    {
    }

    /// <inheritdoc/>
    public override string? NameMark => ".pages";

    /// <inheritdoc/>
    public override string Summary(Sidecar sidecar, Func<long, string> bytes) =>
        $"{sidecar.RowCounts.GetValueOrDefault(ChangedPages)} pages changed of a {bytes(sidecar.SourceBytes)} database";

    /// <inheritdoc/>
    public override long ExpandedLimit(Sidecar sidecar) => PageSet.MaxSize(sidecar.SourcePageCount, (int)sidecar.SourcePageSize);

    /// <summary>Checksum, then every page in order and the page set's own checksum, then the count against the sidecar.</summary>
    public override Task<VerificationResult> ProveAsync(StoredArtifact stored, string scratchPath, IProgress<double>? progress, CancellationToken cancellationToken) =>
        OwnThread.Run(() => Prove(stored, cancellationToken), cancellationToken);

    private VerificationResult Prove(StoredArtifact stored, CancellationToken cancellationToken)
    {
        var sidecar = stored.Sidecar;
        var count = 0L;
        var bad = StoredProof.Decode(stored, ExpandedLimit(sidecar), expanded =>
        {
            using var reader = new PageSet.Reader(expanded, stored.Path);
            for (reader.Start(); reader.Current != 0; reader.Next())
            {
                cancellationToken.ThrowIfCancellationRequested();
                count++;
            }
        });
        if (bad is not null)
        {
            return bad;
        }

        var recorded = sidecar.RowCounts.GetValueOrDefault(ChangedPages);
        return count == recorded
            ? new VerificationResult(stored.Path, [], sidecar)
            : VerificationResult.Rotten(stored.Path, $"holds {count} pages, the sidecar says {recorded}", sidecar);
    }
}

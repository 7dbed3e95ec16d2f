using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// An archive of a rotated log: compressed text, proven by decompressing it in full and counting its bytes and lines,
/// and read with zcat, never restored.
/// </summary>
internal sealed class LogArchiveKind : ArtifactKind
{
    /// <summary>The one instance.</summary>
    public static readonly LogArchiveKind Instance = new();

    private LogArchiveKind()
        : base("log", "log archive", "archive", RestoreWay.None, "read it with zcat")
    {
    }

    /// <inheritdoc/>
    public override string Summary(Sidecar sidecar, Func<long, string> bytes) => $"{bytes(sidecar.SourceBytes)} log";

    /// <summary>Checksum, then bytes and lines against the sidecar (its row count "lines").</summary>
    public override Task<VerificationResult> ProveAsync(StoredArtifact stored, string scratchPath, IProgress<double>? progress, CancellationToken cancellationToken) =>
        OwnThread.Run(() => Prove(stored, cancellationToken), cancellationToken);

    private VerificationResult Prove(StoredArtifact stored, CancellationToken cancellationToken)
    {
        var sidecar = stored.Sidecar;
        long bytes = 0;
        long lines = 0;
        var bad = StoredProof.Decode(stored, ExpandedLimit(sidecar), text =>
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = text.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bytes += read;
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }
        });
        if (bad is not null)
        {
            return bad;
        }

        var expectedLines = sidecar.RowCounts.TryGetValue("lines", out var l) ? l : lines;
        return bytes == sidecar.SourceBytes && lines == expectedLines
            ? new VerificationResult(stored.Path, [], sidecar)
            : VerificationResult.Rotten(stored.Path, $"holds {bytes} bytes in {lines} lines, the sidecar says {sidecar.SourceBytes} in {expectedLines}", sidecar);
    }
}

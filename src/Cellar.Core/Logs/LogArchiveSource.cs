using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;

namespace Cellar.Core.Logs;

/// <summary>
/// A region of a log as an artifact for <see cref="ArtifactWriter"/>: its lines are read once and counted on the way to
/// the compressor (NUL bytes a careless writer left are dropped, and counted), and proven as every artifact's blocks
/// are, with every byte counted in.
/// </summary>
internal sealed class LogArchiveSource(string path, Stream region, DateTimeOffset now, Action<string> beforePublish) : ArtifactSource
{
    /// <summary>The lines as read: bytes, lines and NUL bytes dropped, known once stored.</summary>
    public LogText Text { get; } = new(region);

    public override ArtifactKind Kind => LogArchiveKind.Instance;

    public override Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken) => Task.FromResult(now);

    public override Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken) =>
        target.WriteAsync(Text, null, cancellationToken);

    public override Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken) =>
        Task.FromResult(target.Shortfall(Text.Bytes, "the log"));

    public override Sidecar Describe(Sidecar common) => common with
    {
        SourcePath = path,
        SourceBytes = Text.Bytes,
        RowCounts = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["lines"] = Text.Lines },
    };

    public override void BeforePublish(string finalPath) => beforePublish(finalPath);

    public override async ValueTask DisposeAsync()
    {
        await Text.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

using Cellar.Core.Catalog;

namespace Cellar.Core.Artifacts;

/// <summary>
/// What one kind supplies to one run of <see cref="ArtifactWriter"/>: how to take its content, write it, prove what was
/// stored, and the facts its sidecar adds. The writer calls these once each, in this order, and owns everything
/// between them (the name, the temp file, the codec, the crash points, the refusal, the sidecar's common fields and the
/// publish). Disposing the source releases what it took (a read transaction, a copy) once the writer is done, on every
/// path; work it still has running must have stopped by then.
/// </summary>
internal abstract class ArtifactSource : IAsyncDisposable
{
    /// <summary>The kind it produces.</summary>
    public abstract ArtifactKind Kind { get; }

    /// <summary>
    /// Takes the content (a snapshot, a read transaction, a region of a log); returns the moment it shows, which names
    /// the artifact and is its sidecar's <see cref="Sidecar.Created"/>.
    /// </summary>
    public abstract Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken);

    /// <summary>Writes the content through one of the <c>ArtifactTarget.WriteAsync</c> overloads, once; returns what that returned.</summary>
    public abstract Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// Proves the fsynced temp file holds exactly the content, once the writer has shown it holds exactly the blocks
    /// proven as they were compressed: every byte of the content went in (<see cref="ArtifactTarget.Shortfall"/>), and
    /// whatever the kind checks besides; null when it does, else the problem, which the writer reports as a failed
    /// verification. A finding about the source rather than the stored file (a damaged database)
    /// is thrown instead, in its own words.
    /// </summary>
    public abstract Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// The sidecar: <paramref name="common"/>, which the writer filled (the job, tag, checksum, size, compression, times,
    /// version, and an empty <see cref="Sidecar.RowCounts"/>), with this kind's facts added.
    /// </summary>
    public abstract Sidecar Describe(Sidecar common);

    /// <summary>Runs with the final name just before the artifact takes it (a log rotation records the pending archive).</summary>
    public virtual void BeforePublish(string finalPath)
    {
    }

    /// <inheritdoc/>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

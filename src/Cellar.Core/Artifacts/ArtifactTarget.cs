using Cellar.Core.Compression;
using Cellar.Core.IO;

namespace Cellar.Core.Artifacts;

/// <summary>
/// Where a source writes its artifact: a hidden temp file in the job's folder, under the artifact's final name, with
/// the job's codec. Only <see cref="ArtifactWriter"/> makes one.
/// </summary>
/// <param name="Folder">The job's folder, where the artifact is published and any scratch file of its proof goes.</param>
/// <param name="Name">The artifact's final file name.</param>
/// <param name="Path">The temp file it is written to.</param>
/// <param name="Codec">The job's codec.</param>
internal sealed record ArtifactTarget(string Folder, string Name, string Path, Codec Codec)
{
    /// <summary>
    /// Compresses all of <paramref name="input"/> on every core into the temp file (owner-only, fsynced as it goes);
    /// returns the stored bytes' SHA-256 and size.
    /// </summary>
    public Task<(string Sha, long Size)> WriteAsync(Stream input, IProgress<long>? bytesRead, CancellationToken cancellationToken) =>
        CompressedFile.WriteAsync(input, Path, Codec, bytesRead, cancellationToken);

    /// <summary>
    /// Decompresses the temp file and compares what comes out with the SHA-256 and length of what went in; null when
    /// they match, else a one-line problem (<paramref name="what"/> names the content: "SQL", "log").
    /// </summary>
    public string? Mismatch(string sha, long bytes, string what, CancellationToken cancellationToken) =>
        CompressedFile.Mismatch(Path, Codec, sha, bytes, what, cancellationToken);

    /// <summary>A temp name for a scratch file of this artifact's proof (<paramref name="purpose"/>: "verify").</summary>
    public TempFile Scratch(string purpose) => TempFile.For(Folder, Name, purpose);
}

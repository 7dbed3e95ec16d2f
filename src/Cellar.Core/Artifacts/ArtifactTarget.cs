using System.IO.Pipelines;
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
    private const long PipeBytes = 8 << 20;
    private StoredPieces? _pieces;

    /// <summary>
    /// Compresses all of <paramref name="input"/> on every core into the temp file (owner-only, fsynced as it goes),
    /// each block proven to decompress to exactly what went in before it is written; returns the stored bytes' SHA-256
    /// and size. A block that does not prove throws <see cref="UnsoundBlockException"/>.
    /// </summary>
    public async Task<(string Sha, long Size)> WriteAsync(Stream input, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        var (sha, size, pieces) = await CompressedFile.WriteAsync(input, Path, Codec, bytesRead, cancellationToken).ConfigureAwait(false);
        _pieces = pieces;
        return (sha, size);
    }

    /// <summary>
    /// The same, for content made as it is written: <paramref name="produce"/> writes all of it into the stream it is
    /// given, on a thread of its own, while the compressor takes it on the others through a pipe that holds at most
    /// <see cref="PipeBytes"/>. The producer's failure is the one reported (the writer's is only that its input broke).
    /// </summary>
    public async Task<(string Sha, long Size)> WriteAsync(Action<Stream, CancellationToken> produce, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeBytes, resumeWriterThreshold: PipeBytes / 2, useSynchronizationContext: false));
        var producing = OwnThread.Run(
            () =>
            {
                try
                {
                    using var output = pipe.Writer.AsStream();
                    produce(output, cancellationToken);
                    pipe.Writer.Complete();
                }
                catch (Exception e)
                {
                    pipe.Writer.Complete(e);
                    throw;
                }
            },
            cancellationToken);
        try
        {
            await using var input = pipe.Reader.AsStream();
            return await WriteAsync(input, bytesRead, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await producing.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Null when the temp file holds exactly the proven pieces <c>WriteAsync</c> wrote; else where it does not.
    /// With each piece proven, this is the proof that the file decompresses to exactly what went in.
    /// </summary>
    public string? Changed(CancellationToken cancellationToken) => Written.Changed(Path, cancellationToken);

    /// <summary>
    /// Null when all <paramref name="bytes"/> bytes of the content went into the stored file; else a one-line problem
    /// (<paramref name="what"/> names the content: "snapshot", "SQL", "log").
    /// </summary>
    public string? Shortfall(long bytes, string what) =>
        Written.InputBytes == bytes ? null : $"the stored file holds {Written.InputBytes} bytes of {what}, not the {bytes} there are";

    /// <summary>A temp name for a scratch file of this artifact's proof (<paramref name="purpose"/>: "verify").</summary>
    public TempFile Scratch(string purpose) => TempFile.For(Folder, Name, purpose);

    private StoredPieces Written => _pieces ?? throw new InvalidOperationException("nothing was written to " + Path);
}

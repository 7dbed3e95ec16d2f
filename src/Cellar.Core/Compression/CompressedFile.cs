using Cellar.Core.IO;

namespace Cellar.Core.Compression;

/// <summary>Writes a stream compressed on every core into a new owner-only file, fsynced as it goes, hashing what is stored.</summary>
internal static class CompressedFile
{
    /// <summary>Compresses all of <paramref name="input"/> into the new file <paramref name="storedPath"/>; returns the stored bytes' SHA-256 and size.</summary>
    public static async Task<(string Sha, long Size)> WriteAsync(Stream input, string storedPath, Codec codec, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        await using var file = SecureFiles.CreateNew(storedPath);
        await using var hashing = new HashingStream(new SteadySyncStream(file), leaveOpen: true);
        await ParallelCompressor.CompressAsync(input, hashing, codec, bytesRead, cancellationToken).ConfigureAwait(false);
        await hashing.FlushAsync(cancellationToken).ConfigureAwait(false);
        Fsync.File(file);
        return (hashing.HexHash(), hashing.BytesHashed);
    }

    /// <summary>
    /// Decompresses <paramref name="storedPath"/> and compares what comes out with the SHA-256 and length of what went
    /// in; null when they match, else a one-line problem.
    /// </summary>
    public static string? Mismatch(string storedPath, Codec codec, string sha, long bytes, string what, CancellationToken cancellationToken)
    {
        using var expanded = new HashingStream(codec.OpenRead(new FileStream(storedPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan)));
        var buffer = new byte[1 << 20];
        try
        {
            while (expanded.Read(buffer) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
        {
            // A damaged gzip member or zstd frame stops the decoder before any compare: the same failed proof. A zstd
            // stream cut short inside a frame ends in EndOfStreamException ("Premature end of stream").
            return $"the stored file does not decompress after {expanded.BytesHashed} bytes of {what} ({e.Message})";
        }

        return expanded.BytesHashed == bytes && expanded.HexHash() == sha ? null
            : $"the stored file decompresses to {expanded.BytesHashed} bytes of {what} other than the {bytes} that were written";
    }
}

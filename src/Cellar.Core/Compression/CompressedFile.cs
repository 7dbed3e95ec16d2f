using Cellar.Core.IO;

namespace Cellar.Core.Compression;

/// <summary>Writes a stream compressed on every core into a new owner-only file, fsynced as it goes, hashing what is stored.</summary>
internal static class CompressedFile
{
    /// <summary>
    /// Compresses all of <paramref name="input"/> into the new file <paramref name="storedPath"/>, each block proven as
    /// it is made (<see cref="ParallelCompressor"/>); returns the stored bytes' SHA-256 and size, and the pieces to read
    /// the file back against.
    /// </summary>
    public static async Task<(string Sha, long Size, StoredPieces Pieces)> WriteAsync(Stream input, string storedPath, Codec codec, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        await using var file = SecureFiles.CreateNew(storedPath);
        await using var hashing = new HashingStream(new SteadySyncStream(file), leaveOpen: true);
        var pieces = await ParallelCompressor.CompressAsync(input, hashing, codec, bytesRead, cancellationToken).ConfigureAwait(false);
        await hashing.FlushAsync(cancellationToken).ConfigureAwait(false);
        Fsync.File(file);
        return (hashing.HexHash(), hashing.Bytes, pieces);
    }
}

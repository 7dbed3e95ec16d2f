using System.Buffers;
using System.IO.Hashing;
using Cellar.Core.IO;

namespace Cellar.Core.Compression;

/// <summary>
/// Compresses a stream on every core: blocks are read in order, compressed independently (each on a thread of its own, <see cref="OwnThread"/>) and written
/// back in order, with at most a few blocks in flight so memory stays flat whatever the size of the input. Each worker
/// proves its own block before it is written: the compressed bytes must decompress to exactly the block, through the
/// reader a restore uses, on the core that made them while both are in memory (no second pass over the input, and the
/// proof runs on every core). The fingerprint then taken of the proven bytes lets <see cref="StoredPieces.Changed"/>
/// show that the file on disk holds exactly them.
/// </summary>
internal static class ParallelCompressor
{
    /// <summary>
    /// Compresses all of <paramref name="input"/> into <paramref name="output"/>; returns the bytes read and the pieces
    /// written. A block that does not prove throws <see cref="UnsoundBlockException"/>.
    /// </summary>
    public static async Task<StoredPieces> CompressAsync(
        Stream input, Stream output, Codec codec, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<Task<Piece>>();
        var maxInFlight = Environment.ProcessorCount + 1;
        var pieces = new StoredPieces();
        try
        {
            while (true)
            {
                var block = ArrayPool<byte>.Shared.Rent(codec.BlockSize);
                var read = await input.ReadAtLeastAsync(block.AsMemory(0, codec.BlockSize), codec.BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(block);
                    break;
                }

                var offset = pieces.InputBytes;
                pieces.InputBytes += read;
                inFlight.Enqueue(OwnThread.Run(() => CompressAndProve(codec, block, read, offset), cancellationToken));
                while (inFlight.Count >= maxInFlight)
                {
                    await WriteOldestAsync(inFlight, output, pieces, cancellationToken).ConfigureAwait(false);
                }

                progress?.Report(pieces.InputBytes);
            }

            while (inFlight.Count > 0)
            {
                await WriteOldestAsync(inFlight, output, pieces, cancellationToken).ConfigureAwait(false);
            }

            return pieces;
        }
        finally
        {
            // On failure, wait for the workers so no pooled buffer is returned twice or written after we return.
            foreach (var task in inFlight)
            {
                try
                {
                    ArrayPool<byte>.Shared.Return((await task.ConfigureAwait(false)).Buffer);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The error that stopped the loop is the one being reported; later blocks do not matter.
                }
            }
        }
    }

    private static Piece CompressAndProve(Codec codec, byte[] block, int length, long offset)
    {
        try
        {
            var compressed = codec.CompressBlock(block.AsSpan(0, length), out var compressedLength);
            compressedLength = FaultInjection.DamageCompressed(compressed, compressedLength);
            if (codec.Disagreement(compressed, compressedLength, block.AsSpan(0, length)) is { } problem)
            {
                ArrayPool<byte>.Shared.Return(compressed);
                throw new UnsoundBlockException($"the stored file's block for input bytes {offset} to {offset + length} {problem}");
            }

            return new Piece(compressed, compressedLength, XxHash3.HashToUInt64(compressed.AsSpan(0, compressedLength)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static async Task WriteOldestAsync(Queue<Task<Piece>> inFlight, Stream output, StoredPieces pieces, CancellationToken cancellationToken)
    {
        var piece = await inFlight.Dequeue().ConfigureAwait(false);
        try
        {
            await output.WriteAsync(piece.Buffer.AsMemory(0, piece.Length), cancellationToken).ConfigureAwait(false);
            pieces.Add(piece.Length, piece.Fingerprint);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(piece.Buffer);
        }
    }

    /// <summary>One proven block: its compressed bytes (a pooled buffer), their length and fingerprint.</summary>
    private readonly record struct Piece(byte[] Buffer, int Length, ulong Fingerprint);
}

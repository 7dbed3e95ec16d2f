using System.Buffers;
using Cellar.Core.IO;

namespace Cellar.Core.Compression;

/// <summary>
/// Compresses a stream on every core: blocks are read in order, compressed independently on the
/// thread pool and written back in order, with at most a few blocks in flight so memory stays flat
/// whatever the size of the input.
/// </summary>
internal static class ParallelCompressor
{
    /// <summary>Compresses all of <paramref name="input"/> into <paramref name="output"/>; returns the bytes read.</summary>
    public static async Task<long> CompressAsync(
        Stream input, Stream output, Codec codec, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<Task<(byte[] Buffer, int Length)>>();
        var maxInFlight = Environment.ProcessorCount + 1;
        long total = 0;
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

                total += read;
                inFlight.Enqueue(Task.Run(() => CompressAndReturn(codec, block, read), cancellationToken));
                while (inFlight.Count >= maxInFlight)
                {
                    await WriteOldestAsync(inFlight, output, cancellationToken).ConfigureAwait(false);
                }

                progress?.Report(total);
            }

            while (inFlight.Count > 0)
            {
                await WriteOldestAsync(inFlight, output, cancellationToken).ConfigureAwait(false);
            }

            return total;
        }
        finally
        {
            // On failure, wait for the workers so no pooled buffer is returned twice or written after we return.
            foreach (var task in inFlight)
            {
                try
                {
                    var (buffer, _) = await task.ConfigureAwait(false);
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The error that stopped the loop is the one being reported; later blocks do not matter.
                }
            }
        }
    }

    private static (byte[] Buffer, int Length) CompressAndReturn(Codec codec, byte[] block, int length)
    {
        try
        {
            var compressed = codec.CompressBlock(block.AsSpan(0, length), out var compressedLength);
            return (compressed, FaultInjection.DamageCompressed(compressed, compressedLength));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static async Task WriteOldestAsync(Queue<Task<(byte[] Buffer, int Length)>> inFlight, Stream output, CancellationToken cancellationToken)
    {
        var (buffer, length) = await inFlight.Dequeue().ConfigureAwait(false);
        try
        {
            await output.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

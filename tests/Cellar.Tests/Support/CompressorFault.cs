using Cellar.Core.IO;

namespace Cellar.Tests.Support;

/// <summary>A compressor that writes one wrong byte: the fault only the compare of a stored file with its source catches.</summary>
internal static class CompressorFault
{
    /// <summary>
    /// From now on in the caller's async flow, the compressor flips one byte of the first block it compresses (in its
    /// middle, or its last byte: a gzip member's length field, checked only once all its data is out), before it is
    /// hashed and written, so the stored file's checksum matches its wrong bytes.
    /// </summary>
    public static void FlipOneByte(bool last = false)
    {
        var blocks = 0;
        FaultInjection.Compressed = (block, length) =>
        {
            if (Interlocked.Increment(ref blocks) == 1)
            {
                block[last ? length - 1 : length / 2] ^= 0xFF;
            }

            return length;
        };
    }

    /// <summary>
    /// From now on in the caller's async flow, the compressor writes only the first half of the first block it
    /// compresses: a gzip member or zstd frame cut short, which its decoder meets as a stream that ends too early.
    /// </summary>
    public static void CutShort()
    {
        var blocks = 0;
        FaultInjection.Compressed = (_, length) => Interlocked.Increment(ref blocks) == 1 ? length / 2 : length;
    }
}

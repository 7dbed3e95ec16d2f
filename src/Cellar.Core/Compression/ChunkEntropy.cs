namespace Cellar.Core.Compression;

/// <summary>
/// Tells the parts of a block that will not shrink from those that will, before any compressor spends time on them,
/// as btrfs and ZFS do: the byte histogram of a sample of each 64 KiB chunk, and its Shannon entropy. JPEG previews and
/// already-compressed blobs sit at 7.95 to 8 bits a byte, where no coder gains more than a percent or two; a database's
/// rows, indexes and text sit far below. Runs of the former are stored in the format's own uncompressed form.
/// </summary>
internal static class ChunkEntropy
{
    /// <summary>How much is judged at once: sixteen 4 KiB pages, so a blob's overflow pages are told apart from the rows around them.</summary>
    public const int ChunkBytes = 64 << 10;

    /// <summary>
    /// Bits a byte from which a chunk is stored: the most Huffman coding could save there is 2.5%, and the sample's
    /// estimate of a random chunk's 8 bits is about 7.96 (a sample of 4,096 bytes reads every source a little low, by
    /// 255 / (2 n ln 2) bits).
    /// </summary>
    private const double StoreFrom = 7.8;

    /// <summary>
    /// The sample: eight consecutive bytes out of every 128, so half the chunk's cache lines are never read (a quarter of
    /// a core-second per GB, measured), and eight in a row see every byte of a 2-, 4- or 8-byte record (floats, pixels),
    /// where a fixed stride could see only the noisy low bytes.
    /// </summary>
    private const int SampleRun = 8;

    private const int SampleStride = 128;

    /// <summary>The block as runs of chunks of one kind: each run's offset, length and whether it is stored as it is.</summary>
    public static List<(int Offset, int Length, bool Store)> Runs(ReadOnlySpan<byte> block)
    {
        var runs = new List<(int Offset, int Length, bool Store)>();
        for (var offset = 0; offset < block.Length; offset += ChunkBytes)
        {
            var length = Math.Min(ChunkBytes, block.Length - offset);
            var store = length == ChunkBytes && LooksRandom(block.Slice(offset, length));
            if (runs.Count > 0 && runs[^1].Store == store)
            {
                runs[^1] = (runs[^1].Offset, runs[^1].Length + length, store);
            }
            else
            {
                runs.Add((offset, length, store));
            }
        }

        return runs;
    }

    /// <summary>True when the sampled bytes of <paramref name="chunk"/> carry <see cref="StoreFrom"/> bits a byte or more.</summary>
    public static bool LooksRandom(ReadOnlySpan<byte> chunk)
    {
        Span<int> counts = stackalloc int[256];
        var samples = 0;
        for (var i = 0; i + SampleRun <= chunk.Length; i += SampleStride)
        {
            foreach (var b in chunk.Slice(i, SampleRun))
            {
                counts[b]++;
            }

            samples += SampleRun;
        }

        var entropy = 0.0;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = (double)count / samples;
                entropy -= p * Math.Log2(p);
            }
        }

        return entropy >= StoreFrom;
    }
}

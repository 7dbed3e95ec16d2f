using System.Buffers.Binary;

namespace Cellar.Core.Wal;

/// <summary>
/// SQLite's WAL checksum (https://www.sqlite.org/fileformat2.html#walformat): two 32-bit sums over the data taken as
/// pairs of 32-bit words, chained from one frame to the next, so a frame is valid only if every frame before it in the
/// same WAL is. The words are big-endian when the WAL's magic number has its low bit set, little-endian otherwise.
/// </summary>
internal static class WalChecksum
{
    /// <summary>Continues the running sums (<paramref name="s0"/>, <paramref name="s1"/>) over <paramref name="data"/> (a multiple of 8 bytes).</summary>
    public static (uint S0, uint S1) Continue(ReadOnlySpan<byte> data, bool bigEndian, uint s0, uint s1)
    {
        for (var i = 0; i + 8 <= data.Length; i += 8)
        {
            var x0 = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(data[i..]) : BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            var x1 = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(data[(i + 4)..]) : BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            unchecked
            {
                s0 += x0 + s1;
                s1 += x1 + s0;
            }
        }

        return (s0, s1);
    }
}

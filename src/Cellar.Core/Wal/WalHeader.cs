using System.Buffers.Binary;

namespace Cellar.Core.Wal;

/// <summary>
/// The 32-byte header of a <c>-wal</c> file. A checkpoint that restarts the WAL writes a new one: salt-1 goes up by one
/// and salt-2 is new, which is how a follower tells "the same WAL, grown" from "a new WAL over the old one" and counts
/// how many restarts it missed.
/// </summary>
internal readonly record struct WalHeader(bool BigEndian, int PageSize, uint CheckpointSequence, uint Salt1, uint Salt2, uint S0, uint S1)
{
    /// <summary>Bytes in the header.</summary>
    public const int Size = 32;

    /// <summary>Bytes in a frame's header, before its page.</summary>
    public const int FrameHeaderSize = 24;

    private const uint Magic = 0x377f0682;
    private const uint Version = 3007000;

    /// <summary>Bytes in one frame of this WAL.</summary>
    public int FrameSize => FrameHeaderSize + PageSize;

    /// <summary>Where frame <paramref name="frame"/> (1-based) starts in the file.</summary>
    public long FrameOffset(long frame) => Size + ((frame - 1) * FrameSize);

    /// <summary>The header in <paramref name="bytes"/>, or null when it is not a valid one (an empty or half-written WAL).</summary>
    public static WalHeader? TryParse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Size)
        {
            return null;
        }

        var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if ((magic & ~1u) != Magic || BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]) != Version)
        {
            return null;
        }

        var bigEndian = (magic & 1) == 1;
        var pageSize = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]);
        if (pageSize is < 512 or > 65536 || (pageSize & (pageSize - 1)) != 0)
        {
            return null;
        }

        var (s0, s1) = WalChecksum.Continue(bytes[..24], bigEndian, 0, 0);
        if (s0 != BinaryPrimitives.ReadUInt32BigEndian(bytes[24..]) || s1 != BinaryPrimitives.ReadUInt32BigEndian(bytes[28..]))
        {
            return null;
        }

        return new WalHeader(bigEndian, pageSize, BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]), s0, s1);
    }
}

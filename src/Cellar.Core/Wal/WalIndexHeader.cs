using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Wal;

/// <summary>
/// The wal-index header at the start of the <c>-shm</c> file (https://www.sqlite.org/walformat.html, "The WAL-Index
/// Header"): two copies of 48 bytes in the machine's byte order, the second written first, each with a checksum over
/// its first 40 bytes. Its mxFrame is the last frame of the WAL that SQLite counts as committed. A writer writes a
/// transaction's frames to the WAL first and moves mxFrame only after: a commit frame past mxFrame, checksums and all,
/// is not committed yet, and if its writer dies there it never will be, since the next writer writes over it while
/// anyone keeps the wal-index alive (the follower does). So the follower ships only up to mxFrame.
/// </summary>
/// <param name="MaxFrame">mxFrame.</param>
/// <param name="Salt1">The first salt of the WAL it describes.</param>
/// <param name="Salt2">The second salt.</param>
internal readonly record struct WalIndexHeader(long MaxFrame, uint Salt1, uint Salt2)
{
    private const int CopySize = 48;
    private const uint Version = 3007000;

    /// <summary>How many times a torn read (a writer moving the header meanwhile) is tried again before giving up for now.</summary>
    private const int Tries = 100;

    /// <summary>
    /// The last committed frame of the WAL that <paramref name="wal"/> describes, as the wal-index says. 0 when the
    /// wal-index already describes the next WAL: a restart (the app's TRUNCATE checkpoint, or the first writer after a
    /// checkpoint that copied every frame) gives the wal-index the new salts before the new WAL's header is written, and only once every frame of
    /// the old WAL is in the database file; no frame of the old one is then needed, and none of the new one is
    /// committed yet. Null when the header cannot be read whole.
    /// </summary>
    public static long? CommittedEnd(SafeFileHandle shm, WalHeader wal) =>
        Read(shm) is { } header ? (header.Salt1, header.Salt2) == (wal.Salt1, wal.Salt2) ? header.MaxFrame : 0 : null;

    /// <summary>
    /// nBackfill, the first field of the checkpoint information after the header's two copies: how many frames of the WAL
    /// the header describes are already copied into the database file. Null when the header cannot be read whole. Only
    /// a checkpoint moves it, upward, and only a restart of the WAL (by a writer) sets it back to 0.
    /// </summary>
    public static long? Backfilled(SafeFileHandle shm)
    {
        Span<byte> field = stackalloc byte[4];
        return Read(shm) is not null && RandomAccess.Read(shm, field, 2 * CopySize) == field.Length ? Native(field) : null;
    }

    /// <summary>
    /// The header, or null when it cannot be read whole (a writer moving it all along, or one that died halfway through
    /// writing it: SQLite's next reader repairs it).
    /// </summary>
    private static WalIndexHeader? Read(SafeFileHandle shm)
    {
        Span<byte> both = stackalloc byte[2 * CopySize];
        for (var i = 0; i < Tries; i++)
        {
            if (RandomAccess.Read(shm, both, 0) == both.Length && Parse(both) is { } header)
            {
                return header;
            }

            Thread.Yield();
        }

        return null;
    }

    /// <summary>The header, when both copies are equal, initialised and checksummed; null for a torn or unset one.</summary>
    private static WalIndexHeader? Parse(ReadOnlySpan<byte> both)
    {
        var first = both[..CopySize];
        if (!first.SequenceEqual(both[CopySize..]) || Native(first) != Version || first[12] != 1)
        {
            return null;
        }

        var (s0, s1) = WalChecksum.Continue(first[..40], bigEndian: !BitConverter.IsLittleEndian, 0, 0);
        if (s0 != Native(first[40..]) || s1 != Native(first[44..]))
        {
            return null;
        }

        // The salts are the WAL header's bytes as they are in the file: big-endian, as WalHeader reads them.
        return new WalIndexHeader(Native(first[16..]), BinaryPrimitives.ReadUInt32BigEndian(first[32..]), BinaryPrimitives.ReadUInt32BigEndian(first[36..]));
    }

    private static uint Native(ReadOnlySpan<byte> bytes) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
}

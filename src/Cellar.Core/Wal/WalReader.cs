using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Wal;

/// <summary>
/// Reads a <c>-wal</c> file the way SQLite's own recovery does: frame after frame while each carries the WAL's salts
/// and continues the checksum chain, keeping only what ends in a commit frame (a frame with the database size set).
/// Frames past the last commit belong to a transaction still being written, or rolled back, and are left for later.
/// Reads through a handle with positional reads; the caller holds the read lock that keeps the frames from being
/// overwritten while it reads (a stream's follower, a snapshot read in place).
/// </summary>
internal static class WalReader
{
    private const int FramesPerRead = 64;

    /// <summary>The WAL's header, or null when the file is shorter than one or holds none (empty, truncated, being created).</summary>
    public static WalHeader? Header(SafeFileHandle wal)
    {
        Span<byte> bytes = stackalloc byte[WalHeader.Size];
        return RandomAccess.Read(wal, bytes, 0) == WalHeader.Size ? WalHeader.TryParse(bytes) : null;
    }

    /// <summary>
    /// The transactions committed after <paramref name="start"/> (whose salts say which WAL's frames count), in the file
    /// laid out as <paramref name="header"/> says, up to frame <paramref name="lastFrame"/> at most (a frame after it is not read;
    /// the scan then ends as at the end of the file).
    /// </summary>
    public static WalScan Scan(SafeFileHandle wal, WalHeader header, WalPosition start, long lastFrame = long.MaxValue, CancellationToken cancellationToken = default)
    {
        var frameSize = header.FrameSize;
        var buffer = new byte[frameSize * FramesPerRead];
        var committed = new List<WalTransaction>();
        var pending = new Dictionary<uint, long>();
        var order = new List<uint>();
        var (s0, s1) = (start.S0, start.S1);
        var end = start;
        var frame = start.Frame;
        var length = RandomAccess.GetLength(wal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var offset = header.FrameOffset(frame + 1);
            var count = (int)Math.Clamp(Math.Min((length - offset) / frameSize, lastFrame - frame), 0, FramesPerRead);
            var read = count == 0 ? 0 : RandomAccess.Read(wal, buffer.AsSpan(0, count * frameSize), offset);
            var whole = read / frameSize;
            for (var i = 0; i < whole; i++)
            {
                var bytes = buffer.AsSpan(i * frameSize, frameSize);
                var salts = (BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]));
                if (salts != (start.Salt1, start.Salt2))
                {
                    return new WalScan(committed, end, frame + 1, false, salts, length);
                }

                (s0, s1) = WalChecksum.Continue(bytes[..8], header.BigEndian, s0, s1);
                (s0, s1) = WalChecksum.Continue(bytes[WalHeader.FrameHeaderSize..], header.BigEndian, s0, s1);
                if (s0 != BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]) || s1 != BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]))
                {
                    return new WalScan(committed, end, frame + 1, false, salts, length);
                }

                frame++;
                var page = BinaryPrimitives.ReadUInt32BigEndian(bytes);
                if (pending.TryAdd(page, frame))
                {
                    order.Add(page);
                }
                else
                {
                    pending[page] = frame;
                }

                var databasePages = BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]);
                if (databasePages != 0)
                {
                    end = start with { Frame = frame, S0 = s0, S1 = s1 };
                    committed.Add(new WalTransaction([.. order.Select(p => (p, pending[p]))], databasePages, end));
                    pending.Clear();
                    order.Clear();
                }
            }

            if (whole < FramesPerRead)
            {
                return new WalScan(committed, end, frame + 1, true, null, length);
            }
        }
    }

    /// <summary>Reads the page of frame <paramref name="frame"/> into <paramref name="page"/>.</summary>
    public static void ReadPage(SafeFileHandle wal, WalHeader header, long frame, Span<byte> page)
    {
        var offset = header.FrameOffset(frame) + WalHeader.FrameHeaderSize;
        if (RandomAccess.Read(wal, page, offset) != page.Length)
        {
            throw new CellarException($"the WAL ended inside frame {frame}, which was whole when it was read");
        }
    }
}

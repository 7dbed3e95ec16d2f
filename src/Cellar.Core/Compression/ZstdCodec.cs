using System.Buffers;
using System.Buffers.Binary;
using ZstdSharp;

namespace Cellar.Core.Compression;

/// <summary>Zstandard through the system's libzstd (<see cref="NativeZstd"/>), or ZstdSharp where it does not load; one frame per block.</summary>
internal sealed class ZstdCodec(int level) : Codec
{
    /// <summary>zstd's own default level: most of the ratio for a fraction of the time.</summary>
    public const int DefaultLevel = 3;

    public override string Extension => ".zst";

    public override CompressionKind Kind => CompressionKind.Zstd;

    /// <summary>The most a zstd block holds (Block_Maximum_Size).</summary>
    private const int RawBlockBytes = 128 << 10;

    /// <summary>A frame's magic number (little-endian on disk).</summary>
    private const uint FrameMagic = 0xFD2FB528;

    /// <summary>Frame header descriptor: a 4-byte content size, single segment (the window is the content), no checksum, no dictionary.</summary>
    private const byte SingleSegmentWithSize = 0xA0;

    protected override byte[] Compress(ReadOnlySpan<byte> block, out int length)
    {
        if (NativeZstd.Available)
        {
            var native = ArrayPool<byte>.Shared.Rent(NativeZstd.Bound(block.Length));
            try
            {
                length = NativeZstd.Compress(block, native, level);
                return native;
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(native);
                throw;
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(block.Length));
        using var compressor = new Compressor(level);
        length = compressor.Wrap(block, buffer);
        return buffer;
    }

    protected override int StoredLength(int length) => 4 + 1 + 4 + 3 * Math.Max(1, (length + RawBlockBytes - 1) / RawBlockBytes) + length;

    /// <summary>A zstd frame of raw blocks (RFC 8878 3.1.1: each a 3-byte header of last flag, type 0 and size, then the bytes).</summary>
    protected override int Store(ReadOnlySpan<byte> run, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, FrameMagic);
        destination[4] = SingleSegmentWithSize;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[5..], (uint)run.Length);
        var at = 9;
        var offset = 0;
        do
        {
            var piece = Math.Min(RawBlockBytes, run.Length - offset);
            var header = (uint)piece << 3 | (offset + piece == run.Length ? 1u : 0u);
            destination[at] = (byte)header;
            destination[at + 1] = (byte)(header >> 8);
            destination[at + 2] = (byte)(header >> 16);
            run.Slice(offset, piece).CopyTo(destination[(at + 3)..]);
            (at, offset) = (at + 3 + piece, offset + piece);
        }
        while (offset < run.Length);

        return at;
    }

    public override Stream OpenRead(Stream compressed) =>
        NativeZstd.Available ? new NativeZstdReader(compressed) : new DecompressionStream(compressed, leaveOpen: false);
}

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Cellar.Core.Compression;

/// <summary>Gzip through libdeflate (<see cref="NativeDeflate"/>), or .NET's zlib-ng where it does not load; one gzip member per block, like pigz.</summary>
internal sealed class GzipCodec(int level) : Codec
{
    /// <summary>The seed used <c>gzip</c>'s default, level 6; sizes are compared against it.</summary>
    public const int DefaultLevel = 6;

    public override string Extension => ".gz";

    public override CompressionKind Kind => CompressionKind.Gzip;

    /// <summary>The most a deflate stored block holds.</summary>
    private const int StoredBlockBytes = ushort.MaxValue;

    /// <summary>A gzip member's header without options: magic, deflate, no flags, no time, no extra flags, unknown OS.</summary>
    private static ReadOnlySpan<byte> MemberHeader => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

    protected override byte[] Compress(ReadOnlySpan<byte> block, out int length)
    {
        if (NativeDeflate.Available)
        {
            return NativeDeflate.Compress(block, level, out length);
        }

        // zlib-ng's fastest level can expand incompressible input by up to 1/8 (its deflateBound); the fixed
        // buffer must hold the worst case.
        var buffer = ArrayPool<byte>.Shared.Rent(block.Length + (block.Length >> 3) + 1024);
        using var output = new MemoryStream(buffer, 0, buffer.Length, writable: true, publiclyVisible: true);
        using (var gzip = new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
        {
            gzip.Write(block);
        }

        length = (int)output.Position;
        return buffer;
    }

    protected override int StoredLength(int length) => MemberHeader.Length + length + 5 * Math.Max(1, (length + StoredBlockBytes - 1) / StoredBlockBytes) + 8;

    /// <summary>A gzip member of deflate stored blocks (RFC 1951 3.2.4: a byte holding BFINAL and type 00, then LEN and its complement), CRC-32 and size after.</summary>
    protected override int Store(ReadOnlySpan<byte> run, Span<byte> destination)
    {
        MemberHeader.CopyTo(destination);
        var at = MemberHeader.Length;
        var offset = 0;
        do
        {
            var piece = Math.Min(StoredBlockBytes, run.Length - offset);
            destination[at] = (byte)(offset + piece == run.Length ? 1 : 0);
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(at + 1)..], (ushort)piece);
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(at + 3)..], (ushort)~piece);
            run.Slice(offset, piece).CopyTo(destination[(at + 5)..]);
            (at, offset) = (at + 5 + piece, offset + piece);
        }
        while (offset < run.Length);

        BinaryPrimitives.WriteUInt32LittleEndian(destination[at..], Crc32.HashToUInt32(run));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(at + 4)..], (uint)run.Length);
        return at + 8;
    }

    public override Stream OpenRead(Stream compressed) => new GZipStream(compressed, CompressionMode.Decompress);
}

using System.Buffers;
using System.IO.Compression;

namespace Cellar.Core.Compression;

/// <summary>Gzip through .NET's zlib-ng; one gzip member per block, like pigz.</summary>
internal sealed class GzipCodec(int level) : Codec
{
    /// <summary>The seed used <c>gzip</c>'s default, level 6; sizes are compared against it.</summary>
    public const int DefaultLevel = 6;

    public override string Extension => ".gz";

    public override CompressionKind Kind => CompressionKind.Gzip;

    public override byte[] CompressBlock(ReadOnlySpan<byte> block, out int length)
    {
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

    public override Stream OpenRead(Stream compressed) => new GZipStream(compressed, CompressionMode.Decompress);
}

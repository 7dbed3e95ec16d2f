using System.Buffers;
using ZstdSharp;

namespace Cellar.Core.Compression;

/// <summary>Zstandard through the system's libzstd (<see cref="NativeZstd"/>), or ZstdSharp where it does not load; one frame per block.</summary>
internal sealed class ZstdCodec(int level) : Codec
{
    /// <summary>zstd's own default level: most of the ratio for a fraction of the time.</summary>
    public const int DefaultLevel = 3;

    public override string Extension => ".zst";

    public override CompressionKind Kind => CompressionKind.Zstd;

    public override byte[] CompressBlock(ReadOnlySpan<byte> block, out int length)
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

    public override Stream OpenRead(Stream compressed) =>
        NativeZstd.Available ? new NativeZstdReader(compressed) : new DecompressionStream(compressed, leaveOpen: false);
}

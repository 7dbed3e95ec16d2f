using System.Buffers;

namespace Cellar.Core.Compression;

/// <summary>No compression: blocks are stored as they are.</summary>
internal sealed class NoneCodec : Codec
{
    public override string Extension => "";

    public override CompressionKind Kind => CompressionKind.None;

    public override byte[] CompressBlock(ReadOnlySpan<byte> block, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(block.Length);
        block.CopyTo(buffer);
        length = block.Length;
        return buffer;
    }

    public override Stream OpenRead(Stream compressed) => compressed;
}

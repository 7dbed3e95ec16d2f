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

    protected override byte[] Compress(ReadOnlySpan<byte> block, out int length) => CompressBlock(block, out length);

    protected override int StoredLength(int length) => length;

    protected override int Store(ReadOnlySpan<byte> run, Span<byte> destination)
    {
        run.CopyTo(destination);
        return run.Length;
    }

    public override Stream OpenRead(Stream compressed) => compressed;
}

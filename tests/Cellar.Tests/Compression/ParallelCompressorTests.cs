using System.Buffers;
using Cellar.Core.Compression;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// What <see cref="ParallelCompressor"/> promises: its blocks, compressed on every core, are written back in input
/// order as independent gzip members or zstd frames, so the stock tools read the whole file as one stream and the
/// output does not depend on how many blocks were compressed at once.
/// </summary>
public sealed class ParallelCompressorTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(CompressionKind.Gzip, "gzip")]
    [InlineData(CompressionKind.Zstd, "zstd")]
    public async Task Its_output_decodes_with_the_stock_tool_to_exactly_the_input(CompressionKind kind, string tool)
    {
        var ct = TestContext.Current.CancellationToken;
        var codec = Codec.For(kind);
        var data = SampleData.SeveralBlocks(codec);
        var compressed = _temp.Combine("data" + codec.Extension);
        await using (var file = File.Create(compressed))
        {
            Assert.Equal(data.Length, (await ParallelCompressor.CompressAsync(new MemoryStream(data), file, codec, null, ct)).InputBytes);
        }

        Assert.Equal(data, await SampleData.DecodeWithStockToolAsync(tool, compressed));
    }

    [Theory]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.None)]
    public async Task Its_output_is_the_blocks_compressed_one_at_a_time_in_order_whatever_the_concurrency(CompressionKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        var codec = Codec.For(kind);
        var data = SampleData.SeveralBlocks(codec);

        // One thread, one block after the other: the output any number of cores must reproduce byte for byte.
        using var sequential = new MemoryStream();
        for (var start = 0; start < data.Length; start += codec.BlockSize)
        {
            var block = codec.CompressBlock(data.AsSpan(start, Math.Min(codec.BlockSize, data.Length - start)), out var length);
            sequential.Write(block, 0, length);
            ArrayPool<byte>.Shared.Return(block);
        }

        // Reads that trickle in make the blocks finish in another order than when the whole input is at hand.
        using var parallel = new MemoryStream();
        await ParallelCompressor.CompressAsync(new MemoryStream(data), parallel, codec, null, ct);
        using var trickled = new MemoryStream();
        await ParallelCompressor.CompressAsync(new TricklingStream(data), trickled, codec, null, ct);

        Assert.Equal(sequential.ToArray(), parallel.ToArray());
        Assert.Equal(sequential.ToArray(), trickled.ToArray());
    }

    /// <summary>An input that hands out at most 64 KiB a read, pausing now and then, as a slow disk or pipe does.</summary>
    private sealed class TricklingStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = Math.Min(Math.Min(buffer.Length, 64 << 10), data.Length - _position);
            data.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position % (1 << 20) == 0)
            {
                await Task.Delay(5, cancellationToken);
            }

            return Read(buffer.Span);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

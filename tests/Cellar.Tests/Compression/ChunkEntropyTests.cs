using System.Buffers;
using System.Text;
using Cellar.Core.Compression;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// Runs of a block that will not shrink (JPEG previews, blobs already compressed) are stored in the format's own
/// uncompressed form instead of being compressed for nothing, and the output is still one stream the stock tools read.
/// </summary>
public sealed class ChunkEntropyTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Random_chunks_are_told_from_rows_and_text_and_neighbours_of_one_kind_make_one_run()
    {
        var block = Mixed();

        var runs = ChunkEntropy.Runs(block);

        Assert.Equal([(0, 64 << 10, false), (64 << 10, 128 << 10, true), (192 << 10, (64 << 10) + 1000, false)], runs);
    }

    [Theory]
    [InlineData(CompressionKind.Gzip, "gzip")]
    [InlineData(CompressionKind.Zstd, "zstd")]
    public async Task A_block_with_a_stored_run_is_one_stream_the_stock_tool_and_cellar_read_back_exactly(CompressionKind kind, string tool)
    {
        var ct = TestContext.Current.CancellationToken;
        var codec = Codec.For(kind);
        var block = Mixed();

        var output = codec.CompressBlock(block, out var length);
        var compressed = _temp.Combine("block" + codec.Extension);
        await File.WriteAllBytesAsync(compressed, output.AsMemory(0, length).ToArray(), ct);
        ArrayPool<byte>.Shared.Return(output);

        // The random run is there byte for byte (stored), and the text around it is compressed.
        var stored = await File.ReadAllBytesAsync(compressed, ct);
        Assert.True(stored.AsSpan().IndexOf(block.AsSpan((64 << 10) + 70_000, 4096)) >= 0, "the random run was not stored as it is");
        Assert.True(length < (128 << 10) + (64 << 10), $"{length} bytes: the text was not compressed");
        Assert.Equal(block, SampleData.Decode(codec, compressed));
        Assert.Equal(block, await SampleData.DecodeWithStockToolAsync(tool, compressed));
    }

    /// <summary>64 KiB of log lines, 128 KiB of random bytes, then 65 KiB of log lines: 4 chunks and a piece.</summary>
    private static byte[] Mixed()
    {
        var text = new StringBuilder();
        for (var i = 0; text.Length < 200_000; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"2026-11-26T01:00:00Z INFO comment {i} on gallery {i % 97} liked\n");
        }

        var lines = Encoding.ASCII.GetBytes(text.ToString());
        var random = new byte[128 << 10];
        new Random(16).NextBytes(random);
        return [.. lines.AsSpan(0, 64 << 10), .. random, .. lines.AsSpan(64 << 10, (64 << 10) + 1000)];
    }
}

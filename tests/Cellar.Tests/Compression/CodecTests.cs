using System.Security.Cryptography;
using Cellar.Core.Compression;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// Each codec on its own: what <see cref="CompressedFile"/> stores decodes to exactly what went in, a block that does not
/// decode to what went in fails its proof, and a stored file that is cut short or has a byte changed after it was
/// written never passes as good, whichever codec wrote it.
/// </summary>
public sealed class CodecTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.None)]
    public async Task A_stored_file_decodes_to_exactly_what_went_in_and_passes_its_proof(CompressionKind kind)
    {
        var codec = Codec.For(kind);
        var (data, stored, pieces) = await StoreAsync(codec);

        Assert.Equal(data, SampleData.Decode(codec, stored));
        Assert.Equal(data.Length, pieces.InputBytes);
        Assert.Null(pieces.Changed(stored, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.None)]
    public void A_block_proves_only_against_exactly_the_bytes_it_was_made_from(CompressionKind kind)
    {
        var codec = Codec.For(kind);
        var data = SampleData.SeveralBlocks(codec).AsSpan(0, codec.BlockSize).ToArray();
        var compressed = codec.CompressBlock(data, out var length);
        var other = data.ToArray();
        other[12_345] ^= 1;

        Assert.Null(codec.Disagreement(compressed, length, data));
        Assert.Equal("differs at byte 12345", codec.Disagreement(compressed, length, other));
        Assert.Equal($"ends after {data.Length} of its {data.Length + 1} bytes", codec.Disagreement(compressed, length, [.. data, 0]));
        Assert.Equal($"holds more than the {data.Length - 1} bytes that went in", codec.Disagreement(compressed, length, data.AsSpan(0, data.Length - 1)));
        System.Buffers.ArrayPool<byte>.Shared.Return(compressed);
    }

    [Theory]
    [InlineData(CompressionKind.Gzip, "cut short")]
    [InlineData(CompressionKind.Zstd, "cut short")]
    [InlineData(CompressionKind.None, "cut short")]
    [InlineData(CompressionKind.Gzip, "one byte changed")]
    [InlineData(CompressionKind.Zstd, "one byte changed")]
    [InlineData(CompressionKind.None, "one byte changed")]
    public async Task A_damaged_stored_file_fails_its_proof_with_a_one_line_problem(CompressionKind kind, string damage)
    {
        var codec = Codec.For(kind);
        var (_, stored, pieces) = await StoreAsync(codec);
        Damage(stored, damage);

        var problem = pieces.Changed(stored, TestContext.Current.CancellationToken);

        Assert.NotNull(problem);
        Assert.StartsWith("the stored file", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_stream_with_one_byte_changed_stops_the_decoder_with_InvalidDataException()
    {
        var codec = Codec.For(CompressionKind.Gzip);
        var (_, stored, _) = await StoreAsync(codec);
        Damage(stored, "one byte changed");

        Assert.Throws<InvalidDataException>(() => SampleData.Decode(codec, stored));
    }

    private async Task<(byte[] Data, string Stored, StoredPieces Pieces)> StoreAsync(Codec codec)
    {
        var data = SampleData.SeveralBlocks(codec);
        var stored = _temp.Combine("stored" + codec.Extension);
        var (sha, size, pieces) = await CompressedFile.WriteAsync(new MemoryStream(data), stored, codec, null, TestContext.Current.CancellationToken);
        Assert.Equal(new FileInfo(stored).Length, size);
        Assert.Equal(Sha(await File.ReadAllBytesAsync(stored, TestContext.Current.CancellationToken)), sha);
        return (data, stored, pieces);
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Cuts off the last tenth of the file, as a full disk or an interrupted copy would, or inverts one byte in its
    /// middle, as a bad sector or a RAM fault would.
    /// </summary>
    private static void Damage(string path, string damage)
    {
        var bytes = File.ReadAllBytes(path);
        if (damage == "cut short")
        {
            bytes = bytes[..(bytes.Length * 9 / 10)];
        }
        else
        {
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        File.WriteAllBytes(path, bytes);
    }
}

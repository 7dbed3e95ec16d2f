using System.Security.Cryptography;
using Cellar.Core.Compression;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// Each codec on its own: what <see cref="CompressedFile"/> stores decodes to exactly what went in, and a stored file
/// that is cut short or has a byte changed never passes as good, whichever codec wrote it.
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
        var (data, stored) = await StoreAsync(codec);

        Assert.Equal(data, SampleData.Decode(codec, stored));
        Assert.Null(CompressedFile.Mismatch(stored, codec, Sha(data), data.Length, "test data", TestContext.Current.CancellationToken));
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
        var (data, stored) = await StoreAsync(codec);
        Damage(stored, damage);

        var problem = CompressedFile.Mismatch(stored, codec, Sha(data), data.Length, "test data", TestContext.Current.CancellationToken);

        Assert.NotNull(problem);
        Assert.StartsWith("the stored file ", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_stream_with_one_byte_changed_stops_the_decoder_with_InvalidDataException()
    {
        var codec = Codec.For(CompressionKind.Gzip);
        var (_, stored) = await StoreAsync(codec);
        Damage(stored, "one byte changed");

        Assert.Throws<InvalidDataException>(() => SampleData.Decode(codec, stored));
    }

    private async Task<(byte[] Data, string Stored)> StoreAsync(Codec codec)
    {
        var data = SampleData.SeveralBlocks(codec);
        var stored = _temp.Combine("stored" + codec.Extension);
        var (sha, size) = await CompressedFile.WriteAsync(new MemoryStream(data), stored, codec, null, TestContext.Current.CancellationToken);
        Assert.Equal(new FileInfo(stored).Length, size);
        Assert.Equal(Sha(await File.ReadAllBytesAsync(stored, TestContext.Current.CancellationToken)), sha);
        return (data, stored);
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

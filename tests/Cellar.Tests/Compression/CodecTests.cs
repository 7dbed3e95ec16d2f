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
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.None)]
    public async Task A_stored_file_cut_short_fails_its_proof(CompressionKind kind)
    {
        var codec = Codec.For(kind);
        var (data, stored) = await StoreAsync(codec);
        Truncate(stored);

        var problem = CompressedFile.Mismatch(stored, codec, Sha(data), data.Length, "test data", TestContext.Current.CancellationToken);

        Assert.NotNull(problem);
        Assert.StartsWith("the stored file ", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.None)]
    public async Task A_stored_file_with_one_byte_changed_fails_its_proof(CompressionKind kind)
    {
        var codec = Codec.For(kind);
        var (data, stored) = await StoreAsync(codec);
        FlipByteInTheMiddle(stored);

        var problem = CompressedFile.Mismatch(stored, codec, Sha(data), data.Length, "test data", TestContext.Current.CancellationToken);

        Assert.NotNull(problem);
        Assert.StartsWith("the stored file ", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_stream_with_one_byte_changed_stops_the_decoder_with_InvalidDataException()
    {
        var codec = Codec.For(CompressionKind.Gzip);
        var (_, stored) = await StoreAsync(codec);
        FlipByteInTheMiddle(stored);

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

    /// <summary>Cuts off the last tenth of the file, as a full disk or a copy interrupted would.</summary>
    private static void Truncate(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(file.Length * 9 / 10);
    }

    /// <summary>Inverts one byte in the middle of the file, as a bad sector or a RAM fault would.</summary>
    private static void FlipByteInTheMiddle(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }
}

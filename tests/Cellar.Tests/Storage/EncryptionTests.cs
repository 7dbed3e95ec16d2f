using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Cellar.Core;
using Cellar.Core.Storage.Encryption;
using Cellar.Tests.Support;
using CsCheck;
using Xunit;

namespace Cellar.Tests.Storage;

/// <summary>The encrypted format (docs/encryption.md): round trips, tampering of every kind, and key files.</summary>
/// <remarks>Over 300 lines on purpose: one test per promise of the format, most tampering with an encrypted stream a different way.</remarks>
public sealed class EncryptionTests : IDisposable
{
    private const int Exponent = 12;
    private const int Chunk = 1 << Exponent;
    private const int Sealed = Chunk + 16;
    private const int Header = 50;

    private readonly TempFolder _temp = new();
    private readonly EncryptionKey _key = RandomKey();
    private int _files;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(2 * Chunk)]
    [InlineData((3 * Chunk) + 17)]
    public async Task Every_size_round_trips_and_its_encrypted_length_is_known_in_advance(int size)
    {
        var random = new Random(size);
        var plaintext = RandomBytes(random, size);

        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, maxRead: 3 * Chunk);
        var (returned, error) = await DecryptAsync(ciphertext, _key, random, maxRead: 3 * Chunk);

        Assert.Null(error);
        Assert.Equal(plaintext, returned);
        Assert.Equal(EncryptionFormat.EncryptedLength(size, Exponent), ciphertext.Length);
        Assert.Equal(size, EncryptionFormat.PlaintextLength(ciphertext.Length, Exponent));
    }

    [Fact]
    public async Task Random_sizes_read_through_random_buffers_round_trip()
    {
        var cases = Gen.Select(Gen.Int[0, 5 * Chunk], Gen.Int[1, 2 * Sealed], Gen.Int);
        await cases.SampleAsync(async (size, maxRead, seed) =>
        {
            var random = new Random(seed);
            var plaintext = RandomBytes(random, size);

            var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, maxRead);
            var (returned, error) = await DecryptAsync(ciphertext, _key, random, maxRead);

            Assert.Null(error);
            Assert.Equal(plaintext, returned);
            Assert.Equal(EncryptionFormat.EncryptedLength(size, Exponent), ciphertext.Length);
        }, iter: 100, threads: 1);
    }

    [Fact]
    public async Task A_five_megabyte_file_round_trips_with_the_default_one_mebibyte_chunks()
    {
        var random = new Random(5);
        var plaintext = RandomBytes(random, (5 << 20) + 123);

        var ciphertext = await EncryptAsync(plaintext, _key, EncryptionFormat.DefaultChunkExponent, random, maxRead: 300_000);
        var (returned, error) = await DecryptAsync(ciphertext, _key, random, maxRead: 300_000);

        Assert.Null(error);
        Assert.Equal(plaintext, returned);
        Assert.Equal(EncryptionFormat.EncryptedLength(plaintext.Length), ciphertext.Length);
        Assert.Equal(20, ciphertext[9]);
    }

    [Fact]
    public async Task The_encrypted_length_is_declared_for_a_seekable_source_and_refused_for_a_pipe()
    {
        var path = _temp.Combine("plain.bin");
        await File.WriteAllBytesAsync(path, RandomBytes(new Random(1), (2 * Chunk) + 5), TestContext.Current.CancellationToken);

        await using var file = new EncryptingStream(File.OpenRead(path), _key, Exponent);
        var declared = file.Length;
        var produced = new MemoryStream();
        await file.CopyToAsync(produced, TestContext.Current.CancellationToken);
        using var pipe = new EncryptingStream(new Trickle(new MemoryStream(new byte[10]), new Random(1), 3), _key, Exponent);

        Assert.Equal(produced.Length, declared);
        Assert.Throws<NotSupportedException>(() => pipe.Length);
    }

    [Fact]
    public void Encrypted_and_plaintext_lengths_convert_into_each_other_and_impossible_lengths_are_refused()
    {
        Gen.Select(Gen.Long[0, 1L << 42], Gen.Int[EncryptionFormat.MinChunkExponent, EncryptionFormat.MaxChunkExponent]).Sample((length, exponent) =>
            EncryptionFormat.PlaintextLength(EncryptionFormat.EncryptedLength(length, exponent), exponent) == length);

        Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.PlaintextLength(Header + 15, Exponent));
        Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.PlaintextLength(Header + Sealed + 16, Exponent));
        Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.PlaintextLength(Header + Sealed + 5, Exponent));
    }

    [Fact]
    public void A_chunk_size_outside_the_format_is_refused_wherever_one_is_given()
    {
        foreach (var exponent in new[] { EncryptionFormat.MinChunkExponent - 1, EncryptionFormat.MaxChunkExponent + 1 })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.EncryptedLength(100, exponent));
            Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.PlaintextLength(Header + 100, exponent));
            Assert.Throws<ArgumentOutOfRangeException>(() => EncryptionFormat.WriteHeader(new byte[Header], exponent, _key, new byte[16]));
        }
    }

    [Fact]
    public async Task The_key_a_file_names_is_read_from_a_whole_header_of_the_format_only()
    {
        var ciphertext = await EncryptAsync(RandomBytes(new Random(7), 100), _key, Exponent, new Random(7), Chunk);

        Assert.Equal(_key.IdHex, EncryptionFormat.KeyIdOf(ciphertext));
        Assert.Equal(_key.IdHex, EncryptionFormat.KeyIdOf(ciphertext.AsSpan(0, Header)));
        Assert.Null(EncryptionFormat.KeyIdOf(ciphertext.AsSpan(0, Header - 1)));
        ciphertext[0] ^= 1;
        Assert.Null(EncryptionFormat.KeyIdOf(ciphertext));
    }

    [Fact]
    public async Task Encrypting_the_same_file_twice_gives_different_bytes_that_both_decrypt()
    {
        var random = new Random(2);
        var plaintext = RandomBytes(random, Chunk + 9);

        var first = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);
        var second = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        Assert.NotEqual(first.AsSpan(18, 32).ToArray(), second.AsSpan(18, 32).ToArray());
        Assert.NotEqual(first.AsSpan(Header).ToArray(), second.AsSpan(Header).ToArray());
        Assert.Equal(plaintext, (await DecryptAsync(first, _key, random, Chunk)).Returned);
        Assert.Equal(plaintext, (await DecryptAsync(second, _key, random, Chunk)).Returned);
    }

    [Fact]
    public async Task A_wrong_key_is_reported_with_both_key_ids_and_yields_nothing()
    {
        var random = new Random(3);
        var other = RandomKey();
        var ciphertext = await EncryptAsync(RandomBytes(random, 3 * Chunk), _key, Exponent, random, Chunk);

        var (returned, error) = await DecryptAsync(ciphertext, other, random, Chunk);

        var failure = Assert.IsType<DecryptionException>(error);
        Assert.Empty(returned);
        Assert.Contains(_key.IdHex, failure.Message, StringComparison.Ordinal);
        Assert.Contains(other.IdHex, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_forged_to_name_the_configured_key_still_fails_on_the_first_chunk()
    {
        var random = new Random(4);
        var other = RandomKey();
        var ciphertext = await EncryptAsync(RandomBytes(random, 2 * Chunk), _key, Exponent, random, Chunk);
        other.Id.CopyTo(ciphertext.AsSpan(10, 8));

        await AssertFailsAfterAsync(ciphertext, other, releasedChunks: 0, "chunk 0 failed authentication");
    }

    [Theory]
    [InlineData(0, "not a Cellar-encrypted file")]
    [InlineData(8, "version")]
    [InlineData(9, "chunk 0 failed authentication")]
    [InlineData(13, "configured key")]
    [InlineData(40, "chunk 0 failed authentication")]
    public async Task A_flipped_bit_in_the_header_fails_before_any_plaintext(int offset, string expected)
    {
        var random = new Random(offset);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);
        ciphertext[offset] ^= 0x01;

        await AssertFailsAfterAsync(ciphertext, plaintext, releasedChunks: 0, expected);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 100)]
    [InlineData(1, Chunk)]
    [InlineData(2, Chunk + 15)]
    [InlineData(3, 3)]
    [InlineData(3, 17 + 8)]
    public async Task A_flipped_bit_in_a_chunk_or_its_tag_fails_and_nothing_of_that_chunk_is_returned(int chunk, int offsetInChunk)
    {
        var random = new Random((chunk * 100_000) + offsetInChunk);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);
        ciphertext[Header + (chunk * Sealed) + offsetInChunk] ^= 0x40;

        await AssertFailsAfterAsync(ciphertext, plaintext, releasedChunks: chunk, $"chunk {chunk} failed authentication");
    }

    [Fact]
    public async Task Dropping_the_final_chunk_is_reported_as_truncation()
    {
        var random = new Random(6);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        await AssertFailsAfterAsync(ciphertext[..(Header + (3 * Sealed))], plaintext, releasedChunks: 2, "truncated");
    }

    [Fact]
    public async Task Dropping_a_full_final_chunk_is_reported_as_truncation()
    {
        var random = new Random(7);
        var plaintext = RandomBytes(random, 2 * Chunk);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        await AssertFailsAfterAsync(ciphertext[..(Header + Sealed)], plaintext, releasedChunks: 0, "truncated");
    }

    [Theory]
    [InlineData(0, 0, "not a Cellar-encrypted file")]
    [InlineData(8, 0, "truncated")] // the magic and nothing after it
    [InlineData(30, 0, "truncated")]
    [InlineData(Header, 0, "truncated")]
    [InlineData(Header + Sealed + 100, 1, "chunk 1 failed authentication")]
    [InlineData(Header + (3 * Sealed) + 5, 3, "truncated")]
    [InlineData(Header + (3 * Sealed) + 17 + 15, 3, "chunk 3 failed authentication")]
    public async Task A_file_cut_anywhere_fails(int keep, int releasedChunks, string expected)
    {
        var random = new Random(keep);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        await AssertFailsAfterAsync(ciphertext[..keep], plaintext, releasedChunks, expected);
    }

    [Fact]
    public async Task Bytes_appended_after_a_short_final_chunk_fail()
    {
        var random = new Random(8);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        await AssertFailsAfterAsync([.. ciphertext, 0x00], plaintext, releasedChunks: 3, "chunk 3 failed authentication");
    }

    [Fact]
    public async Task A_copy_of_a_chunk_appended_after_a_full_final_chunk_fails()
    {
        var random = new Random(9);
        var plaintext = RandomBytes(random, 2 * Chunk);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);

        await AssertFailsAfterAsync([.. ciphertext, .. ciphertext.AsSpan(Header, Sealed)], plaintext, releasedChunks: 1, "data follows the final chunk 1");
    }

    [Fact]
    public async Task Swapping_two_chunks_fails_at_the_first_swapped_one()
    {
        var random = new Random(10);
        var plaintext = RandomBytes(random, (3 * Chunk) + 17);
        var ciphertext = await EncryptAsync(plaintext, _key, Exponent, random, Chunk);
        byte[] swapped = [.. ciphertext[..(Header + Sealed)], .. ciphertext.AsSpan(Header + (2 * Sealed), Sealed), .. ciphertext.AsSpan(Header + Sealed, Sealed), .. ciphertext[(Header + (3 * Sealed))..]];

        await AssertFailsAfterAsync(swapped, plaintext, releasedChunks: 1, "chunk 1 failed authentication");
    }

    [Fact]
    public async Task A_failed_stream_keeps_failing_instead_of_looking_finished()
    {
        var random = new Random(11);
        var ciphertext = await EncryptAsync(RandomBytes(random, 2 * Chunk), _key, Exponent, random, Chunk);
        ciphertext[Header + 5] ^= 0x01;
        await using var decrypting = new DecryptingStream(new MemoryStream(ciphertext), _key);
        var buffer = new byte[100];

        await Assert.ThrowsAsync<DecryptionException>(() => decrypting.ReadAsync(buffer, TestContext.Current.CancellationToken).AsTask());
        await Assert.ThrowsAsync<DecryptionException>(() => decrypting.ReadAsync(buffer, TestContext.Current.CancellationToken).AsTask());
        Assert.Throws<DecryptionException>(() => decrypting.Read(buffer));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk)]
    [InlineData((3 * Chunk) + 17)]
    public async Task An_independent_decryptor_written_from_the_format_doc_reads_what_cellar_writes(int size)
    {
        var random = new Random(size + 1);
        var secret = RandomBytes(random, 32);
        var plaintext = RandomBytes(random, size);
        var ciphertext = await EncryptAsync(plaintext, EncryptionKey.FromText(Convert.ToHexString(secret), "test"), Exponent, random, Chunk);

        Assert.Equal(plaintext, ReferenceDecrypt(ciphertext, secret));
    }

    [Fact]
    public async Task The_worked_example_in_the_format_doc_decrypts()
    {
        // Made with Python's cryptography package from docs/encryption-format.md, not with Cellar.
        var key = EncryptionKey.FromText("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "the doc");
        var file = Convert.FromHexString(
            "43454c4c41524531010c203bc15a6a1afcda202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
            + "7dd5c9ce77b661c4957e347f4a071096ad2695a846defce31870bd1dc24c");

        var (returned, error) = await DecryptAsync(file, key, new Random(15), maxRead: 5);

        Assert.Null(error);
        Assert.Equal("203bc15a6a1afcda", key.IdHex);
        Assert.Equal("hello, cellar\n", Encoding.ASCII.GetString(returned));
    }

    [Fact]
    public void Key_files_of_raw_bytes_hex_or_base64_give_the_same_key()
    {
        var secret = RandomBytes(new Random(12), 32);

        var raw = EncryptionKey.FromFile(KeyFile(secret));
        var hex = EncryptionKey.FromFile(KeyFile(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(secret) + "\n")));
        var upperHex = EncryptionKey.FromFile(KeyFile(Encoding.ASCII.GetBytes("  " + Convert.ToHexString(secret) + "\r\n")));
        var base64 = EncryptionKey.FromFile(KeyFile(Encoding.ASCII.GetBytes(Convert.ToBase64String(secret) + "\n")));

        Assert.Equal(secret, raw.Secret.ToArray());
        Assert.Equal(ReferenceKeyId(secret), raw.IdHex);
        Assert.Matches("^[0-9a-f]{16}$", raw.IdHex);
        Assert.All(new[] { hex, upperHex, base64 }, key => Assert.Equal(secret, key.Secret.ToArray()));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(0)]
    [InlineData(5000)]
    public void A_key_file_of_the_wrong_length_is_refused_without_showing_its_content(int length)
    {
        var content = RandomBytes(new Random(length), length);
        var path = KeyFile(content);
        var hex = KeyFile(Encoding.ASCII.GetBytes(Convert.ToHexString(RandomBytes(new Random(1), 31))));

        var error = Assert.Throws<ConfigException>(() => EncryptionKey.FromFile(path));
        var hexError = Assert.Throws<ConfigException>(() => EncryptionKey.FromFile(hex));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("32 raw bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains(hex, hexError.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllText(hex), hexError.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupWrite)]
    public void A_key_file_others_can_access_is_refused_like_ssh_refuses_a_loose_private_key(UnixFileMode mode)
    {
        var path = KeyFile(RandomBytes(new Random(13), 32));
        File.SetUnixFileMode(path, mode);

        var error = Assert.Throws<ConfigException>(() => EncryptionKey.FromFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_file_is_reported_by_path()
    {
        var path = _temp.Combine("absent.key");

        var error = Assert.Throws<ConfigException>(() => EncryptionKey.FromFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_from_an_environment_variable_is_hex_or_base64_and_a_bad_one_names_the_variable_only()
    {
        var secret = RandomBytes(new Random(14), 32);
        const string bad = "correct horse battery staple";

        var hex = EncryptionKey.FromText($" {Convert.ToHexStringLower(secret)}\n", "CELLAR_ENCRYPTION_KEY");
        var base64 = EncryptionKey.FromText(Convert.ToBase64String(secret), "CELLAR_ENCRYPTION_KEY");
        var error = Assert.Throws<ConfigException>(() => EncryptionKey.FromText(bad, "CELLAR_ENCRYPTION_KEY"));
        var short64 = Assert.Throws<ConfigException>(() => EncryptionKey.FromText(Convert.ToBase64String(secret[..31]), "CELLAR_ENCRYPTION_KEY"));

        Assert.Equal(secret, hex.Secret.ToArray());
        Assert.Equal(secret, base64.Secret.ToArray());
        Assert.StartsWith("CELLAR_ENCRYPTION_KEY ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(bad, error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<CellarException>(short64);
    }

    /// <summary>Decrypts with tiny reads and checks that exactly the first <paramref name="releasedChunks"/> chunks came out, unaltered, before the failure.</summary>
    private async Task AssertFailsAfterAsync(byte[] ciphertext, byte[] plaintext, int releasedChunks, string expected)
    {
        var (returned, error) = await DecryptAsync(ciphertext, _key, new Random(ciphertext.Length), maxRead: 7);

        var failure = Assert.IsType<DecryptionException>(error);
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure.Message);
        Assert.Equal(releasedChunks * Chunk, returned.Length);
        Assert.Equal(plaintext[..returned.Length], returned);
    }

    private async Task AssertFailsAfterAsync(byte[] ciphertext, EncryptionKey key, int releasedChunks, string expected)
    {
        var (returned, error) = await DecryptAsync(ciphertext, key, new Random(ciphertext.Length), maxRead: 7);

        Assert.Contains(expected, Assert.IsType<DecryptionException>(error).Message, StringComparison.Ordinal);
        Assert.Equal(releasedChunks * Chunk, returned.Length);
    }

    /// <summary>Encrypts from a real file through a source that returns short reads, reading the result in random pieces, via a real file.</summary>
    private async Task<byte[]> EncryptAsync(byte[] plaintext, EncryptionKey key, int exponent, Random random, int maxRead)
    {
        var ct = TestContext.Current.CancellationToken;
        var plainPath = _temp.Combine($"plain-{++_files}.bin");
        var sealedPath = _temp.Combine($"sealed-{_files}.bin");
        await File.WriteAllBytesAsync(plainPath, plaintext, ct);

        await using (var source = new EncryptingStream(new Trickle(File.OpenRead(plainPath), random, maxRead), key, exponent))
        await using (var target = File.Create(sealedPath))
        {
            await CopyInRandomPiecesAsync(source, target, random, maxRead);
        }

        return await File.ReadAllBytesAsync(sealedPath, ct);
    }

    /// <summary>Decrypts from a real file in random pieces; returns what came out before the end or the failure.</summary>
    private async Task<(byte[] Returned, Exception? Error)> DecryptAsync(byte[] ciphertext, EncryptionKey key, Random random, int maxRead)
    {
        var sealedPath = _temp.Combine($"sealed-{++_files}.bin");
        await File.WriteAllBytesAsync(sealedPath, ciphertext, TestContext.Current.CancellationToken);
        var returned = new MemoryStream();
        try
        {
            await using var source = new DecryptingStream(new Trickle(File.OpenRead(sealedPath), random, maxRead), key);
            await CopyInRandomPiecesAsync(source, returned, random, maxRead);
            return (returned.ToArray(), null);
        }
        catch (DecryptionException e)
        {
            return (returned.ToArray(), e);
        }
    }

    /// <summary>Copies with reads of random sizes, some synchronous and some asynchronous, to exercise both paths.</summary>
    private static async Task CopyInRandomPiecesAsync(Stream source, Stream target, Random random, int maxRead)
    {
        var buffer = new byte[maxRead];
        while (true)
        {
            var size = random.Next(1, maxRead + 1);
            var read = random.Next(2) == 0
                ? source.Read(buffer, 0, size)
                : await source.ReadAsync(buffer.AsMemory(0, size), TestContext.Current.CancellationToken);
            if (read == 0)
            {
                return;
            }

            await target.WriteAsync(buffer.AsMemory(0, read), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A decryptor written from docs/encryption-format.md alone, with no Cellar code, to keep the doc honest.</summary>
    private static byte[] ReferenceDecrypt(byte[] file, byte[] masterKey)
    {
        var header = file.AsSpan(0, 50);
        Assert.Equal("CELLARE1"u8.ToArray(), header[..8].ToArray());
        Assert.Equal(1, header[8]);
        var chunkSize = 1 << header[9];
        Assert.Equal(ReferenceKeyId(masterKey), Convert.ToHexStringLower(header[10..18]));
        var fileKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey, 32, header[18..50].ToArray(), "cellar-enc-v1 file key"u8.ToArray());

        using var aes = new AesGcm(fileKey, 16);
        var plaintext = new MemoryStream();
        var nonce = new byte[12];
        for (long index = 0, at = 50; at < file.Length; index++, at += chunkSize + 16)
        {
            var sealedLength = (int)Math.Min(chunkSize + 16, file.Length - at);
            var chunk = file.AsSpan((int)at, sealedLength);
            BinaryPrimitives.WriteUInt64BigEndian(nonce, (ulong)index);
            nonce[11] = at + sealedLength == file.Length ? (byte)1 : (byte)0;
            var text = new byte[sealedLength - 16];
            aes.Decrypt(nonce, chunk[..^16], chunk[^16..], text, header);
            plaintext.Write(text);
        }

        return plaintext.ToArray();
    }

    private static string ReferenceKeyId(byte[] masterKey) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(masterKey, "cellar-enc-v1 key id"u8.ToArray())[..8]);

    private string KeyFile(byte[] content)
    {
        var path = _temp.Combine($"key-{++_files}");
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static EncryptionKey RandomKey() => EncryptionKey.FromText(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "test");

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A source that hands out at most a random few bytes per read, as pipes and network streams do.</summary>
    private sealed class Trickle(Stream inner, Random random, int maxRead) : Core.IO.ReadOnlyStream
    {
        public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, random.Next(1, maxRead + 1))]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer[..Math.Min(buffer.Length, random.Next(1, maxRead + 1))], cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

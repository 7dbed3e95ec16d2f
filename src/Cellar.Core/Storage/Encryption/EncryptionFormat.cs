using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// The layout of an encrypted backup (docs/encryption-format.md): a 50-byte header, then AES-256-GCM chunks under a
/// per-file key, each nonce carrying the chunk's index and a final flag so chunks cannot be dropped, reordered,
/// appended or cut off unnoticed.
/// </summary>
internal static class EncryptionFormat
{
    /// <summary>The format version this code writes and reads.</summary>
    public const byte Version = 1;

    /// <summary>The format's name, as sidecars record it.</summary>
    public const string Name = "cellar-enc-v1";

    /// <summary>Header length: magic 8, version 1, chunk exponent 1, key id 8, salt 32.</summary>
    public const int HeaderLength = 50;

    /// <summary>Length of the key id in the header.</summary>
    public const int KeyIdLength = 8;

    /// <summary>Length of the per-file random salt.</summary>
    public const int SaltLength = 32;

    /// <summary>Length of the GCM tag after each chunk's ciphertext.</summary>
    public const int TagLength = 16;

    /// <summary>Length of a GCM nonce.</summary>
    public const int NonceLength = 12;

    /// <summary>Chunks of 2^20 bytes (1 MiB) unless told otherwise.</summary>
    public const int DefaultChunkExponent = 20;

    /// <summary>Smallest chunk exponent accepted (4 KiB chunks).</summary>
    public const int MinChunkExponent = 12;

    /// <summary>Largest chunk exponent accepted (16 MiB chunks).</summary>
    public const int MaxChunkExponent = 24;

    private const int VersionAt = 8;
    private const int ExponentAt = 9;
    private const int KeyIdAt = 10;
    private const int SaltAt = 18;

    /// <summary>The first 8 bytes of every encrypted file.</summary>
    public static ReadOnlySpan<byte> Magic => "CELLARE1"u8;

    /// <summary>HKDF info that turns the master key and a file's salt into that file's key.</summary>
    public static ReadOnlySpan<byte> FileKeyInfo => "cellar-enc-v1 file key"u8;

    /// <summary>HMAC message whose MAC under the master key starts with the key id.</summary>
    public static ReadOnlySpan<byte> KeyIdInfo => "cellar-enc-v1 key id"u8;

    /// <summary>
    /// The exact length of the encryption of <paramref name="plaintextLength"/> bytes, so an upload can declare it
    /// before streaming. Every chunk but the last is full; the last holds the remaining 1..chunk bytes, and only an
    /// empty plaintext is encrypted as one empty chunk.
    /// </summary>
    public static long EncryptedLength(long plaintextLength, int chunkExponent = DefaultChunkExponent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        CheckExponent(chunkExponent);
        var chunks = Math.Max(1, ((plaintextLength - 1) >> chunkExponent) + 1);
        return HeaderLength + plaintextLength + (chunks * TagLength);
    }

    /// <summary>
    /// The plaintext length of an encrypted file of <paramref name="encryptedLength"/> bytes; throws for lengths
    /// that no encryption produces, which means the file was cut or extended.
    /// </summary>
    public static long PlaintextLength(long encryptedLength, int chunkExponent)
    {
        CheckExponent(chunkExponent);
        var body = encryptedLength - HeaderLength;
        var sealedChunk = (1L << chunkExponent) + TagLength;
        var chunks = (body + sealedChunk - 1) / sealedChunk;
        var lastChunk = body - ((chunks - 1) * sealedChunk) - TagLength;
        if (body < TagLength || (chunks > 1 && lastChunk <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(encryptedLength), encryptedLength,
                $"no plaintext encrypts to {encryptedLength} bytes with 2^{chunkExponent}-byte chunks");
        }

        return body - (chunks * TagLength);
    }

    /// <summary>The id (hex) of the key a file's header names, or null when <paramref name="header"/> is not one.</summary>
    public static string? KeyIdOf(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderLength && header[..Magic.Length].SequenceEqual(Magic) ? Convert.ToHexStringLower(header[KeyIdAt..SaltAt]) : null;

    /// <summary>Writes the header of a new file into <paramref name="header"/> (50 bytes).</summary>
    public static void WriteHeader(Span<byte> header, int chunkExponent, EncryptionKey key, ReadOnlySpan<byte> salt)
    {
        CheckExponent(chunkExponent);
        Magic.CopyTo(header);
        header[VersionAt] = Version;
        header[ExponentAt] = (byte)chunkExponent;
        key.Id.CopyTo(header[KeyIdAt..]);
        salt.CopyTo(header[SaltAt..HeaderLength]);
    }

    /// <summary>
    /// Checks a file's header against this format and <paramref name="key"/> and returns its chunk exponent; throws
    /// <see cref="DecryptionException"/> saying what is wrong.
    /// </summary>
    public static int ReadHeader(ReadOnlySpan<byte> header, EncryptionKey key)
    {
        if (header.Length < Magic.Length || !header[..Magic.Length].SequenceEqual(Magic))
        {
            throw new DecryptionException("not a Cellar-encrypted file (no CELLARE1 header)");
        }

        if (header.Length < HeaderLength)
        {
            throw new DecryptionException($"truncated: the file ends inside its {HeaderLength}-byte header, after {header.Length} bytes");
        }

        if (header[VersionAt] != Version)
        {
            throw new DecryptionException($"unsupported encryption format version {header[VersionAt]}: this Cellar reads version {Version}");
        }

        int exponent = header[ExponentAt];
        if (exponent is < MinChunkExponent or > MaxChunkExponent)
        {
            throw new DecryptionException($"unsupported chunk size 2^{exponent}: expected 2^{MinChunkExponent} to 2^{MaxChunkExponent}");
        }

        var keyId = header[KeyIdAt..SaltAt];
        if (!keyId.SequenceEqual(key.Id))
        {
            throw new DecryptionException($"the file was encrypted with key {Convert.ToHexStringLower(keyId)}, but the configured key is {key.IdHex}");
        }

        return exponent;
    }

    /// <summary>The AES-GCM instance for one file: its key is HKDF-SHA256 of the master key and the header's salt.</summary>
    public static AesGcm FileCipher(EncryptionKey key, ReadOnlySpan<byte> header)
    {
        Span<byte> fileKey = stackalloc byte[EncryptionKey.Length];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Secret, fileKey, header[SaltAt..HeaderLength], FileKeyInfo);
            return new AesGcm(fileKey, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
    }

    /// <summary>Writes chunk <paramref name="index"/>'s nonce: its big-endian index, three zero bytes, the final flag.</summary>
    public static void Nonce(Span<byte> nonce, long index, bool final)
    {
        BinaryPrimitives.WriteInt64BigEndian(nonce, index);
        nonce[8..11].Clear();
        nonce[11] = final ? (byte)1 : (byte)0;
    }

    private static void CheckExponent(int chunkExponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkExponent, MinChunkExponent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkExponent, MaxChunkExponent);
    }
}

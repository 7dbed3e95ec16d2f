using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// A small document (an offsite sidecar, a manifest) encrypted and authenticated with AES-256-GCM, stored as JSON of
/// which only the format name, the key id and a salt can be read (docs/encryption-format.md, "Sealed documents").
/// The associated data is the name the document is stored under, so a sealed document moved to another name, or
/// edited in any byte, does not open: the GCM tag is the seal.
/// </summary>
internal static class SealedEnvelope
{
    /// <summary>
    /// Seals <paramref name="plaintext"/> under a key derived from <paramref name="key"/> and a fresh salt, with the
    /// format name as the derivation's info (a sidecar never opens as a manifest) and <paramref name="storedAs"/> as
    /// associated data.
    /// </summary>
    public static byte[] Seal(EncryptionKey key, string format, string storedAs, ReadOnlySpan<byte> plaintext)
    {
        var salt = RandomNumberGenerator.GetBytes(EncryptionFormat.SaltLength);
        var sealedBytes = new byte[plaintext.Length + EncryptionFormat.TagLength];
        using (var cipher = Cipher(key, format, salt))
        {
            // The derived key is used for this one document only, so a fixed nonce never repeats under it.
            cipher.Encrypt(Nonce, plaintext, sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), Encoding.UTF8.GetBytes(storedAs));
        }

        var document = new Document(format, key.IdHex, Convert.ToHexStringLower(salt), Convert.ToBase64String(sealedBytes));
        return JsonSerializer.SerializeToUtf8Bytes(document, SealedEnvelopeJson.Default.Document);
    }

    /// <summary>The format name when <paramref name="json"/> is a sealed document (its <c>format</c> is a string), else null.</summary>
    public static string? FormatOf(ReadOnlySpan<byte> json)
    {
        try
        {
            using var parsed = JsonDocument.Parse(json.ToArray());
            return parsed.RootElement.ValueKind == JsonValueKind.Object
                && parsed.RootElement.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String
                ? format.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens a sealed document of <paramref name="format"/> stored as <paramref name="storedAs"/> with the key it
    /// names; throws a one-line error starting with <paramref name="what"/> when the key is not configured, or the
    /// document was altered, moved, cut, or is not such a document.
    /// </summary>
    public static byte[] Open(KeyRing keys, ReadOnlySpan<byte> json, string format, string storedAs, string what)
    {
        Document document;
        byte[] salt;
        byte[] sealedBytes;
        try
        {
            document = JsonSerializer.Deserialize(json, SealedEnvelopeJson.Default.Document) ?? throw new JsonException("null");
            salt = Convert.FromHexString(document.Salt);
            sealedBytes = Convert.FromBase64String(document.Sealed);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentNullException)
        {
            throw new DecryptionException($"{what} is not a sealed {format} document: {e.Message}");
        }

        if (document.Format != format || document.KeyId is not { Length: 2 * EncryptionFormat.KeyIdLength } || salt.Length != EncryptionFormat.SaltLength || sealedBytes.Length < EncryptionFormat.TagLength)
        {
            throw new DecryptionException($"{what} is not a sealed {format} document");
        }

        var key = keys.Require(document.KeyId, what);
        var plaintext = new byte[sealedBytes.Length - EncryptionFormat.TagLength];
        using var cipher = Cipher(key, format, salt);
        try
        {
            cipher.Decrypt(Nonce, sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), plaintext, Encoding.UTF8.GetBytes(storedAs));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new DecryptionException($"{what} does not open with key {key.IdHex}: it was altered, or belongs to another object");
        }

        return plaintext;
    }

    private static ReadOnlySpan<byte> Nonce => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static AesGcm Cipher(EncryptionKey key, string format, byte[] salt)
    {
        Span<byte> derived = stackalloc byte[EncryptionKey.Length];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Secret, derived, salt, Encoding.UTF8.GetBytes(format));
            return new AesGcm(derived, EncryptionFormat.TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>The stored JSON: what anyone can read of a sealed document.</summary>
    internal sealed record Document(string Format, string KeyId, string Salt, string Sealed);
}

// Nothing but the four fields: an edited document is refused as such, not read past.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(SealedEnvelope.Document))]
internal sealed partial class SealedEnvelopeJson : JsonSerializerContext;

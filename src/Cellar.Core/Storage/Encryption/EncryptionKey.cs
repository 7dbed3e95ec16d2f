using System.Security.Cryptography;
using System.Text;
using Cellar.Core.IO;

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// The 32-byte master key that backups are encrypted with, and its public 8-byte id, which is written into every
/// encrypted file so a wrong key is reported as such instead of as corruption.
/// </summary>
internal sealed class EncryptionKey
{
    /// <summary>Length of a master key in bytes.</summary>
    public const int Length = 32;

    private const long LongestKeyFile = 1024;

    private const string Expected = "64 hex characters or the base64 of 32 bytes";

    private readonly byte[] _secret;

    private readonly byte[] _id;

    private EncryptionKey(byte[] secret)
    {
        _secret = secret;
        _id = new byte[EncryptionFormat.KeyIdLength];
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, EncryptionFormat.KeyIdInfo, mac);
        mac[.._id.Length].CopyTo(_id);
        IdHex = Convert.ToHexStringLower(_id);
    }

    /// <summary>The key's id: not secret, it only tells keys apart.</summary>
    public ReadOnlySpan<byte> Id => _id;

    /// <summary><see cref="Id"/> as 16 lowercase hex characters, for messages.</summary>
    public string IdHex { get; }

    /// <summary>The key material itself; never log or print it.</summary>
    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary>
    /// Loads a key file holding exactly 32 raw bytes, or text (surrounding whitespace ignored) of 64 hex characters
    /// or the base64 of 32 bytes. Like ssh with private keys, a file that group or others may access is refused.
    /// </summary>
    public static EncryptionKey FromFile(string path)
    {
        var content = SecretFile.Read(path, "encryption key file", LongestKeyFile, $"exactly 32 raw bytes, {Expected}");
        if (content.Length == Length)
        {
            return new EncryptionKey(content);
        }

        try
        {
            return FromText(Encoding.UTF8.GetString(content), $"encryption key file {path}", $"exactly 32 raw bytes, {Expected}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <summary>
    /// Parses a key given as text, such as an environment variable: 64 hex characters or the base64 of 32 bytes,
    /// surrounding whitespace ignored. <paramref name="source"/> names where the text came from in error messages.
    /// </summary>
    public static EncryptionKey FromText(string text, string source) => FromText(text, source, Expected);

    private static EncryptionKey FromText(string text, string source, string expected)
    {
        var trimmed = text.Trim();
        var secret = new byte[Length];
        var parsed = trimmed.Length == 2 * Length
            ? Convert.FromHexString(trimmed, secret, out _, out _) == System.Buffers.OperationStatus.Done
            : Convert.TryFromBase64String(trimmed, secret, out var written) && written == Length;
        if (!parsed)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new ConfigException($"{source} does not hold a valid encryption key: expected {expected}");
        }

        return new EncryptionKey(secret);
    }
}

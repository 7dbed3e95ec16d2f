using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cellar.Core.Catalog;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// An HMAC, under a key derived from the encryption key, over what identifies an encrypted copy: its object key,
/// database, job, creation time and both sizes and hashes. The chunks' tags prove the bytes came from the key's
/// holder; the seal proves they are the copy the sidecar names, so someone who can write to the bucket cannot
/// swap in another genuine copy (an older backup, another database's) or move the time <c>--latest</c> picks by.
/// </summary>
internal static class CopySeal
{
    public static string Of(EncryptionKey key, string objectKey, Sidecar sidecar, long encryptedBytes, string encryptedSha256)
    {
        var sealKey = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Secret, sealKey, [], "cellar-enc-v1 sidecar seal"u8);
        try
        {
            var text = string.Join('\n',
                objectKey, sidecar.Database, sidecar.Job, sidecar.Created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                sidecar.SizeBytes.ToString(CultureInfo.InvariantCulture), sidecar.Sha256,
                encryptedBytes.ToString(CultureInfo.InvariantCulture), encryptedSha256);
            return Convert.ToHexStringLower(HMACSHA256.HashData(sealKey, Encoding.UTF8.GetBytes(text)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }
    }

    /// <summary>Throws unless <paramref name="sidecar"/> carries the seal of <paramref name="objectKey"/> under <paramref name="key"/>.</summary>
    public static void Check(EncryptionKey key, string objectKey, Sidecar sidecar, string location)
    {
        var copy = sidecar.Encryption!;
        if (copy.KeyId != key.IdHex)
        {
            throw new CellarException($"{location}: encrypted with key {copy.KeyId}, but the configured key is {key.IdHex}");
        }

        var expected = Of(key, objectKey, sidecar with { Encryption = null }, copy.SizeBytes, copy.Sha256);
        if (copy.Seal is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(copy.Seal), Encoding.ASCII.GetBytes(expected)))
        {
            throw new CellarException($"{location}: its sidecar does not carry this copy's seal: it was altered, or belongs to another object");
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Catalog;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The seal Cellar put on encrypted copies before sidecars were sealed whole: an HMAC over eight of the sidecar's
/// fields (object key, database, job, creation time, both sizes and hashes). It is only checked, never written: such
/// copies stay restorable, with a warning, while <c>cellar sync --repair</c> re-seals those it still has locally.
/// </summary>
internal static class LegacySeal
{
    /// <summary>
    /// Throws unless <paramref name="sidecar"/> carries the old seal of <paramref name="objectKey"/> under
    /// <paramref name="key"/>, and its kind agrees with its name: the old seal does not cover the kind, and a
    /// snapshot relabelled as a dump would be fed to the SQL loader.
    /// </summary>
    public static void Check(EncryptionKey key, string objectKey, Sidecar sidecar, string location)
    {
        var copy = sidecar.Encryption!;
        var expected = Of(key, objectKey, sidecar, copy.SizeBytes, copy.Sha256);
        if (copy.Seal is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(copy.Seal), Encoding.ASCII.GetBytes(expected)))
        {
            throw new CellarException($"{location}: its sidecar does not carry this copy's seal: it was altered, or belongs to another object");
        }

        if (ArtifactKinds.NameContradicts(sidecar, objectKey))
        {
            throw new CellarException($"{location}: its sidecar says it is a {ArtifactKinds.Of(sidecar)?.DisplayName ?? sidecar.Kind}, which its name contradicts, and the old seal does not cover that; it was altered");
        }
    }

    private static string Of(EncryptionKey key, string objectKey, Sidecar sidecar, long encryptedBytes, string encryptedSha256)
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
}

using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The sidecar an offsite copy carries. Whenever a key is configured it is sealed whole (<see cref="SealedEnvelope"/>,
/// format <see cref="Format"/>, the copy's object key as associated data): nobody without the key can read its table
/// names, counts, paths and hashes, or change any byte of it, or pass it off as another copy's. Without a key it is
/// the plain JSON of the local sidecar, which nothing can authenticate.
/// </summary>
internal static class RemoteSidecar
{
    /// <summary>The format name of a sealed sidecar.</summary>
    public const string Format = "cellar-sidecar-v2";

    /// <summary>The bytes to store beside <paramref name="objectKey"/>: sealed with the current key when there is one.</summary>
    public static byte[] Encode(KeyRing? keys, string objectKey, Sidecar sidecar)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(sidecar, SidecarJson.Default.Sidecar);
        return keys is null ? json : SealedEnvelope.Seal(keys.Current, Format, objectKey, json);
    }

    /// <summary>
    /// Reads the sidecar of <paramref name="objectKey"/> and says how far it can be trusted. Throws when it is sealed
    /// but does not open, carries an old seal that fails, or is sealed and no key is configured (a configuration error).
    /// </summary>
    public static RemoteCopy Decode(byte[] bytes, string objectKey, KeyRing? keys, string location)
    {
        if (SealedEnvelope.FormatOf(bytes) is { } format)
        {
            if (keys is null)
            {
                throw new ConfigException($"{location} is sealed ({format}); set encryptionKeyFile or {OffsiteValidator.KeyVariable} to read it");
            }

            // What was sealed is exactly what is parsed: no field of it escapes the seal.
            var plain = SealedEnvelope.Open(keys, bytes, Format, objectKey, $"{location}: its sidecar");
            return new RemoteCopy(objectKey, Parse(plain, location), SealKind.Sealed);
        }

        var sidecar = Parse(bytes, location);
        if (sidecar.Encryption is not { } encryption)
        {
            return new RemoteCopy(objectKey, sidecar, SealKind.None);
        }

        if (keys is null)
        {
            throw new ConfigException($"{location} is encrypted (key id {encryption.KeyId}); set encryptionKeyFile or {OffsiteValidator.KeyVariable}");
        }

        LegacySeal.Check(keys.Require(encryption.KeyId, location), objectKey, sidecar, location);
        return new RemoteCopy(objectKey, sidecar, SealKind.Legacy);
    }

    private static Sidecar Parse(byte[] json, string location)
    {
        try
        {
            return JsonSerializer.Deserialize(json, SidecarJson.Default.Sidecar) ?? throw new CellarException($"{location}: its sidecar is empty");
        }
        catch (JsonException e)
        {
            throw new CellarException($"{location}: its sidecar is not valid: {e.Message}", e);
        }
    }
}

/// <summary>How a copy's sidecar is vouched for.</summary>
internal enum SealKind
{
    /// <summary>No seal: nothing proves Cellar made the copy (accepted only without a key, or when told to).</summary>
    None,

    /// <summary>The old seal over eight fields, verified: restorable with a warning; <c>sync --repair</c> re-seals it.</summary>
    Legacy,

    /// <summary>The whole sidecar sealed (and encrypted) under a configured key.</summary>
    Sealed,
}

/// <summary>A copy at a destination whose sidecar was read and checked: its object key, what it holds, and how it is sealed.</summary>
internal sealed record RemoteCopy(string Key, Sidecar Sidecar, SealKind Seal);

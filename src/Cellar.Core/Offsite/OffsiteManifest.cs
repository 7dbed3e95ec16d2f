using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The sealed list of the copies one destination holds of one database (<c>DATABASE/manifest.cellar</c>), written
/// from the ledger after every sync pass that changed something, with a counter that only goes up. Someone who can
/// write to the bucket can delete copies, put pruned ones back, or put back an older manifest, but cannot forge one:
/// a restore compares what it finds with the manifest, and the manifest's counter with the last one this machine
/// wrote, so each of those is said instead of an older copy being restored quietly.
/// </summary>
/// <param name="Database">The database whose copies it lists.</param>
/// <param name="Counter">1 for the first manifest, one more for each one after it.</param>
/// <param name="Written">When it was written.</param>
/// <param name="Copies">The confirmed copies, as the ledger records them.</param>
internal sealed record OffsiteManifest(string Database, long Counter, DateTimeOffset Written, IReadOnlyList<OffsiteEntry> Copies)
{
    /// <summary>The format name of a sealed manifest.</summary>
    public const string Format = "cellar-manifest-v1";

    /// <summary>The object key of a database's manifest (a name no job folder can have: job names have no '.').</summary>
    public static string KeyFor(string database) => $"{database}/manifest.cellar";

    /// <summary>
    /// Reads the database's manifest: null when there is none; throws when it does not open (altered, or sealed with
    /// a key that is not configured).
    /// </summary>
    public static async Task<OffsiteManifest?> ReadAsync(IObjectStore store, string database, KeyRing keys, CancellationToken cancellationToken)
    {
        var key = KeyFor(database);
        byte[] bytes;
        try
        {
            bytes = await store.ReadSmallAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }

        var what = $"the manifest {store.Location}{key}";
        var plain = SealedEnvelope.Open(keys, bytes, Format, key, what);
        try
        {
            var manifest = JsonSerializer.Deserialize(plain, OffsiteManifestJson.Default.OffsiteManifest);
            return manifest?.Database == database ? manifest : throw new CellarException($"{what} does not list {database}'s copies");
        }
        catch (JsonException e)
        {
            throw new CellarException($"{what} is not valid: {e.Message}", e);
        }
    }

    /// <summary>Seals the manifest with <paramref name="key"/> and stores it (one PUT).</summary>
    public async Task WriteAsync(IObjectStore store, EncryptionKey key, CancellationToken cancellationToken)
    {
        var objectKey = KeyFor(Database);
        var sealedBytes = SealedEnvelope.Seal(key, Format, objectKey, JsonSerializer.SerializeToUtf8Bytes(this, OffsiteManifestJson.Default.OffsiteManifest));
        await store.PutAsync(objectKey, new MemoryStream(sealedBytes), sealedBytes.Length, cancellationToken).ConfigureAwait(false);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(OffsiteManifest))]
internal sealed partial class OffsiteManifestJson : JsonSerializerContext;

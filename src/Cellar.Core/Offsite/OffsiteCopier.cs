using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// Copies one verified backup to one destination: the file streamed (encrypted when the destination says so),
/// then its sidecar beside it, then both confirmed. A copy counts only once confirmed; the local file's bytes are
/// hashed on the way and must still be the ones its sidecar vouches for.
/// </summary>
internal sealed class OffsiteCopier(IObjectStore store, OffsiteDestination destination, EncryptionKey? key, TimeProvider time)
{
    /// <summary>The object key of a backup: <c>DATABASE/JOB/FILE</c>, with <c>.enc</c> when encrypted.</summary>
    public static string KeyFor(JobConfig job, string fileName, bool encrypted) =>
        $"{job.Database.Name}/{job.Name}/{fileName}{(encrypted ? EncryptedSuffix : "")}";

    /// <summary>The object key of a backup's sidecar (always plain JSON: names, counts and hashes, no data).</summary>
    public static string SidecarKeyFor(string objectKey) =>
        (objectKey.EndsWith(EncryptedSuffix, StringComparison.Ordinal) ? objectKey[..^EncryptedSuffix.Length] : objectKey) + Sidecar.Suffix;

    /// <summary>What encrypted objects' keys end with.</summary>
    public const string EncryptedSuffix = ".enc";

    public async Task<OffsiteEntry> CopyAsync(JobConfig job, BackupEntry backup, CancellationToken cancellationToken)
    {
        var sidecar = backup is { LooksGood: true, Sidecar: { } s } ? s
            : throw new CellarException($"{backup.Path} is not a verified backup; only verified backups go offsite");
        var cipherKey = destination.Encrypt ? OffsiteKey.Require(key, destination) : null;
        var objectKey = KeyFor(job, backup.Name, cipherKey is not null);

        // Checked before anything is sent: a rotten local file must never replace a good copy already there.
        await RequireIntactAsync(backup.Path, sidecar, cancellationToken).ConfigureAwait(false);

        PutResult put;
        await using (var file = new FileStream(backup.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true))
        await using (var plain = new HashingStream(file, leaveOpen: true))
        await using (Stream body = cipherKey is null ? plain : new EncryptingStream(plain, cipherKey, leaveOpen: true))
        {
            var length = cipherKey is null ? sidecar.SizeBytes : EncryptionFormat.EncryptedLength(sidecar.SizeBytes);
            put = await store.PutAsync(objectKey, body, length, cancellationToken).ConfigureAwait(false);
            if (plain.BytesHashed != sidecar.SizeBytes || plain.HexHash() != sidecar.Sha256)
            {
                // Changed while it was read: not confirmed, so it stays pending and the next pass checks it first.
                throw new CellarException($"{backup.Path} changed while it was uploaded to {destination.Name}; not counted as offsite (run `cellar verify`)");
            }
        }

        var remote = sidecar with
        {
            Encryption = cipherKey is null ? null
                : new EncryptedCopy(EncryptionFormat.Name, cipherKey.IdHex, put.SizeBytes, put.Sha256, CopySeal.Of(cipherKey, objectKey, sidecar, put.SizeBytes, put.Sha256)),
        };
        var sidecarKey = SidecarKeyFor(objectKey);
        await store.PutAsync(sidecarKey, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(remote, SidecarJson.Default.Sidecar)), null, cancellationToken).ConfigureAwait(false);

        // The puts proved the bytes; these stats prove both objects are visible under their keys now.
        var stored = await store.StatAsync(objectKey, cancellationToken).ConfigureAwait(false);
        if (stored?.SizeBytes != put.SizeBytes || await store.StatAsync(sidecarKey, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new CellarException($"{destination.Location}{objectKey}: not found with its sidecar after the upload; it is not counted as offsite");
        }

        return new OffsiteEntry(objectKey, job.Name, backup.Path, sidecar.Sha256, sidecar.Created, put.SizeBytes, put.Sha256, cipherKey?.IdHex, time.GetUtcNow());
    }

    private static async Task RequireIntactAsync(string path, Sidecar sidecar, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        using var sha256 = System.Security.Cryptography.SHA256.Create();
        var hash = Convert.ToHexStringLower(await sha256.ComputeHashAsync(file, cancellationToken).ConfigureAwait(false));
        if (file.Length != sidecar.SizeBytes || hash != sidecar.Sha256)
        {
            throw new CellarException($"{path} no longer matches the checksum in its sidecar; it is not copied offsite (run `cellar verify`)");
        }
    }
}

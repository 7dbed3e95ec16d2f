using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// Copies one verified backup to one destination: the file streamed (encrypted when the destination says so),
/// then its sidecar beside it (sealed whenever a key is configured, whether or not the file is encrypted), then
/// both confirmed. A copy counts only once confirmed; the local file's bytes are hashed on the way and must still be
/// the ones its sidecar vouches for.
/// </summary>
internal sealed class OffsiteCopier(IObjectStore store, OffsiteDestination destination, KeyRing? keys, TimeProvider time)
{
    public Task<OffsiteEntry> CopyAsync(JobConfig job, BackupEntry backup, CancellationToken cancellationToken) =>
        CopyAsync(job, backup, backup.Name, cancellationToken);

    /// <summary>As <see cref="CopyAsync(JobConfig, BackupEntry, CancellationToken)"/>, stored as <paramref name="name"/> under the job's prefix (a stream's base: <c>GENERATION/FILE</c>).</summary>
    public async Task<OffsiteEntry> CopyAsync(JobConfig job, BackupEntry backup, string name, CancellationToken cancellationToken)
    {
        var sidecar = backup is { LooksGood: true, Sidecar: { } s } ? s
            : throw new CellarException($"{backup.Path} is not a verified backup; only verified backups go offsite");
        var cipherKey = destination.Encrypt ? OffsiteKey.Require(keys, destination) : null;
        var objectKey = RemoteLayout.KeyFor(job, name, cipherKey is not null);

        // Checked before anything is sent: a rotten local file must never replace a good copy already there.
        await RequireIntactAsync(backup.Path, sidecar, cancellationToken).ConfigureAwait(false);

        PutResult put;
        await using (var file = new FileStream(backup.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true))
        await using (var plain = new HashingStream(file, leaveOpen: true))
        await using (Stream body = cipherKey is null ? plain : new EncryptingStream(plain, cipherKey, leaveOpen: true))
        {
            var length = cipherKey is null ? sidecar.SizeBytes : EncryptionFormat.EncryptedLength(sidecar.SizeBytes);
            put = await store.PutAsync(objectKey, body, length, cancellationToken).ConfigureAwait(false);
            if (plain.Bytes != sidecar.SizeBytes || plain.HexHash() != sidecar.Sha256)
            {
                // Changed while it was read: not confirmed, so it stays pending and the next pass checks it first.
                throw new CellarException($"{backup.Path} changed while it was uploaded to {destination.Name}; not counted as offsite (run `cellar verify`)");
            }
        }

        var entry = new OffsiteEntry(objectKey, job.Name, backup.Path, sidecar.Sha256, sidecar.Created, put.SizeBytes, put.Sha256, cipherKey?.IdHex, time.GetUtcNow())
        {
            Sealed = keys is not null,
        };
        var sidecarKey = await PutSidecarAsync(entry, sidecar, cancellationToken).ConfigureAwait(false);

        // The puts proved the bytes; these stats prove both objects are visible under their keys now.
        var stored = await store.StatAsync(objectKey, cancellationToken).ConfigureAwait(false);
        if (stored?.SizeBytes != put.SizeBytes || await store.StatAsync(sidecarKey, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new CellarException($"{destination.Location}{objectKey}: not found with its sidecar after the upload; it is not counted as offsite");
        }

        return entry;
    }

    /// <summary>
    /// Seals the sidecar of a copy uploaded before sidecars were sealed whole (or before a key was configured), from
    /// the local sidecar and the size and hash the ledger recorded at upload: nothing read back from the bucket is
    /// vouched for. One PUT; the object itself is not sent again.
    /// </summary>
    public async Task<OffsiteEntry> ResealAsync(OffsiteEntry entry, Sidecar local, CancellationToken cancellationToken)
    {
        _ = keys ?? throw new InvalidOperationException("re-sealing needs a key");
        await PutSidecarAsync(entry, local, cancellationToken).ConfigureAwait(false);
        return entry with { Sealed = true };
    }

    /// <summary>Stores the sidecar of <paramref name="entry"/>'s copy: the local sidecar, plus how the object was encrypted.</summary>
    private async Task<string> PutSidecarAsync(OffsiteEntry entry, Sidecar local, CancellationToken cancellationToken)
    {
        var remote = local with
        {
            Encryption = entry.KeyId is { } keyId ? new EncryptedCopy(EncryptionFormat.Name, keyId, entry.SizeBytes, entry.Sha256) : null,
        };
        var sidecarKey = RemoteLayout.SidecarKeyFor(entry.Key);
        var bytes = RemoteSidecar.Encode(keys, entry.Key, remote);
        await store.PutAsync(sidecarKey, new MemoryStream(bytes), bytes.Length, cancellationToken).ConfigureAwait(false);
        return sidecarKey;
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

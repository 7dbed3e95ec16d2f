using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Core.IO;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The backups a destination holds, as another machine sees them (no ledger, only the bucket): listing them,
/// choosing one, and bringing it back as a local backup with its sidecar, decrypted and checked against both
/// hashes, ready for the same restore path as any local backup.
/// </summary>
/// <param name="store">The destination's store.</param>
/// <param name="key">The encryption key, when one is configured.</param>
/// <param name="encrypted">
/// True when the destination encrypts: then a copy without a sealed, encrypted sidecar is refused, or a bucket
/// writer could slip in a plain "backup" of their own.
/// </param>
internal sealed class RemoteBackups(IObjectStore store, EncryptionKey? key, bool encrypted)
{
    /// <summary>Every backup under <paramref name="prefix"/> (<c>DATABASE/JOB/</c> or empty), newest upload first.</summary>
    public async Task<IReadOnlyList<RemoteBackup>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var objects = new List<StoredObject>();
        await foreach (var item in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            objects.Add(item);
        }

        var sidecars = objects.Where(o => o.Key.EndsWith(Sidecar.Suffix, StringComparison.Ordinal)).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        return objects
            .Where(o => !o.Key.EndsWith(Sidecar.Suffix, StringComparison.Ordinal))
            .Select(o => new RemoteBackup(o, sidecars.Contains(OffsiteCopier.SidecarKeyFor(o.Key))))
            .OrderByDescending(b => b.Object.LastModified).ThenByDescending(b => b.Object.Key, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The newest backup under <paramref name="prefix"/> made at or before <paramref name="at"/> (or the newest of
    /// all), by the creation time in the sidecars: upload order says nothing, since a sync uploads newest first.
    /// One GET per candidate sidecar.
    /// </summary>
    public async Task<string> SelectAsync(string prefix, DateTimeOffset? at, CancellationToken cancellationToken)
    {
        (string Key, DateTimeOffset Created)? best = null;
        foreach (var backup in (await ListAsync(prefix, cancellationToken).ConfigureAwait(false)).Where(b => b.HasSidecar))
        {
            var sidecar = await SidecarAsync(backup.Object.Key, cancellationToken).ConfigureAwait(false);
            try
            {
                // Chosen by a time only a sealed sidecar vouches for; a copy that fails is never a candidate.
                Trusted(backup.Object.Key, sidecar);
            }
            catch (CellarException)
            {
                continue;
            }

            var created = sidecar.Created;
            if ((at is null || created <= at) && (best is null || created > best.Value.Created))
            {
                best = (backup.Object.Key, created);
            }
        }

        return best?.Key ?? throw new CellarException($"{store.Location}{prefix}: no backup {(at is null ? "" : $"made at or before {at:u} ")}with its sidecar");
    }

    /// <summary>Throws unless the copy is what this destination writes: sealed and encrypted where it encrypts.</summary>
    private void Trusted(string objectKey, Sidecar sidecar)
    {
        var location = store.Location + objectKey;
        if (sidecar.Encryption is null)
        {
            if (encrypted || objectKey.EndsWith(OffsiteCopier.EncryptedSuffix, StringComparison.Ordinal))
            {
                throw new CellarException($"{location}: a plain copy where this destination keeps only encrypted ones; not restored");
            }

            return;
        }

        if (key is null)
        {
            throw new ConfigException($"{location} is encrypted (key id {sidecar.Encryption.KeyId}); set encryptionKeyFile or {Configuration.OffsiteValidator.KeyVariable}");
        }

        CopySeal.Check(key, objectKey, sidecar, location);
    }

    /// <summary>Reads a backup's sidecar from the destination.</summary>
    public async Task<Sidecar> SidecarAsync(string objectKey, CancellationToken cancellationToken)
    {
        var sidecarKey = OffsiteCopier.SidecarKeyFor(objectKey);
        await using var stream = await store.GetAsync(sidecarKey, cancellationToken).ConfigureAwait(false);
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, SidecarJson.Default.Sidecar, cancellationToken).ConfigureAwait(false)
                ?? throw new CellarException($"{store.Location}{sidecarKey} is empty");
        }
        catch (JsonException e)
        {
            throw new CellarException($"{store.Location}{sidecarKey} is not a valid sidecar: {e.Message}", e);
        }
    }

    /// <summary>
    /// Downloads <paramref name="objectKey"/> into <paramref name="folder"/> under its original name, decrypting it
    /// when it is encrypted, and writes its sidecar beside it. The file gets its name only after the encrypted bytes
    /// and the plain bytes both matched the sidecar's size and SHA-256: a truncated, corrupted or foreign object
    /// never becomes a file that looks like a backup.
    /// </summary>
    public async Task<string> DownloadAsync(string objectKey, string folder, CancellationToken cancellationToken)
    {
        var sidecar = await SidecarAsync(objectKey, cancellationToken).ConfigureAwait(false);
        Trusted(objectKey, sidecar);
        var encrypted = sidecar.Encryption;

        var name = Path.GetFileName(OffsiteCopier.SidecarKeyFor(objectKey)[..^Sidecar.Suffix.Length]);
        var target = Path.Combine(folder, name);
        SecureFiles.EnsureFolder(folder);
        using var temp = TempFile.For(folder, name);
        await using (var source = await store.GetAsync(objectKey, cancellationToken).ConfigureAwait(false))
        await using (var stored = new HashingStream(source, leaveOpen: true))
        {
            await using (var plain = encrypted is null ? (Stream)stored : new DecryptingStream(stored, key!, leaveOpen: true))
            await using (var file = SecureFiles.CreateNew(temp.Path))
            await using (var written = new HashingStream(file, leaveOpen: true))
            {
                try
                {
                    await plain.CopyToAsync(written, 1 << 20, cancellationToken).ConfigureAwait(false);
                }
                catch (DecryptionException e)
                {
                    throw new CellarException($"{store.Location}{objectKey}: {e.Message}", e);
                }

                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                Fsync.File(file);
                if (written.BytesHashed != sidecar.SizeBytes || written.HexHash() != sidecar.Sha256)
                {
                    throw new CellarException($"{store.Location}{objectKey}: the downloaded backup does not match its sidecar ({written.BytesHashed} bytes, expected {sidecar.SizeBytes}); the copy is damaged");
                }
            }

            if (encrypted is not null && (stored.BytesHashed != encrypted.SizeBytes || stored.HexHash() != encrypted.Sha256))
            {
                throw new CellarException($"{store.Location}{objectKey}: the object does not match the size and SHA-256 recorded when it was uploaded; the copy is damaged");
            }
        }

        (sidecar with { Encryption = null }).Write(target);
        temp.Commit(target);
        return target;
    }
}

/// <summary>One backup object at a destination, and whether its sidecar is there too.</summary>
internal sealed record RemoteBackup(StoredObject Object, bool HasSidecar)
{
    /// <summary>True when the object is an encrypted copy.</summary>
    public bool Encrypted => Object.Key.EndsWith(OffsiteCopier.EncryptedSuffix, StringComparison.Ordinal);
}

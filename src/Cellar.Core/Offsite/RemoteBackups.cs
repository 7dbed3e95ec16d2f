using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The backups a destination holds, as another machine sees them (no ledger, only the bucket): listing them, reading
/// and checking a copy's sidecar, and bringing the copy back as a local backup with its sidecar, decrypted and checked
/// against both hashes, ready for the same restore path as any local backup.
/// </summary>
/// <param name="store">The destination's store.</param>
/// <param name="destination">The destination: one that encrypts never yields a plain copy without a seal.</param>
/// <param name="keys">The configured keys, if any: with a key, every copy must be sealed.</param>
/// <param name="warn">Where to say what the operator must know about a copy that is restored anyway.</param>
internal sealed class RemoteBackups(IObjectStore store, OffsiteDestination destination, KeyRing? keys, Action<string> warn)
{
    /// <summary>
    /// Also accept copies without a seal where a key is configured (made before there was one): nothing proves
    /// Cellar made them, so each one restored is said loudly.
    /// </summary>
    public bool AcceptUnsealed { get; init; }

    /// <summary>The configured keys, or null.</summary>
    public KeyRing? Keys => keys;

    /// <summary>Where the destination points, for messages.</summary>
    public string Location => store.Location;

    /// <summary>
    /// Every backup under <paramref name="prefix"/> (<c>DATABASE/JOB/</c> or empty), newest upload first: objects at
    /// <c>DATABASE/JOB/FILE</c>, other than sidecars.
    /// </summary>
    public async Task<IReadOnlyList<RemoteBackup>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var objects = new List<StoredObject>();
        await foreach (var item in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            objects.Add(item);
        }

        var sidecars = objects.Where(o => o.Key.EndsWith(Sidecar.Suffix, StringComparison.Ordinal)).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        return objects
            .Where(o => !o.Key.EndsWith(Sidecar.Suffix, StringComparison.Ordinal) && o.Key.Count(c => c == '/') == 2)
            .Select(o => new RemoteBackup(o, sidecars.Contains(RemoteLayout.SidecarKeyFor(o.Key))))
            .OrderByDescending(b => b.Object.LastModified).ThenByDescending(b => b.Object.Key, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The manifest of <paramref name="database"/>'s copies: null without a key or when there is none; throws when it does not open.</summary>
    public Task<OffsiteManifest?> ManifestAsync(string database, CancellationToken cancellationToken) =>
        keys is null ? Task.FromResult<OffsiteManifest?>(null) : OffsiteManifest.ReadAsync(store, database, keys, cancellationToken);

    /// <summary>
    /// Reads the sidecar of <paramref name="objectKey"/> (one GET) and checks the copy may be restored: sealed under a
    /// configured key, or with the old seal of an older Cellar; without a seal only where no key is configured and
    /// the destination does not encrypt, or when <see cref="AcceptUnsealed"/>. Throws saying why not.
    /// </summary>
    public async Task<RemoteCopy> OpenAsync(string objectKey, CancellationToken cancellationToken)
    {
        var location = store.Location + objectKey;
        var sidecarKey = RemoteLayout.SidecarKeyFor(objectKey);
        byte[] bytes;
        try
        {
            bytes = await store.ReadSmallAsync(sidecarKey, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            throw new CellarException($"{location}: it has no sidecar ({sidecarKey})");
        }

        var remote = RemoteSidecar.Decode(bytes, objectKey, keys, location);
        if (remote.Sidecar.Encryption is null && RemoteLayout.IsEncrypted(objectKey))
        {
            throw new CellarException($"{location}: its name says encrypted, its sidecar says plain; not restored");
        }

        if (remote.Seal == SealKind.None && !AcceptUnsealed && (keys is not null || destination.Encrypt))
        {
            throw new CellarException(keys is not null
                ? $"{location}: an unsealed plain copy: nothing proves Cellar made it, and with a key configured every copy must be sealed (--accept-unsealed restores it anyway)"
                : $"{location}: an unsealed plain copy where this destination keeps only encrypted ones; not restored");
        }

        return remote;
    }

    /// <summary>
    /// Downloads the copy <see cref="OpenAsync"/> checked into <paramref name="folder"/> under its original name,
    /// decrypting it when it is encrypted (with the key it names), and writes its sidecar beside it. The file gets its
    /// name only after the encrypted bytes and the plain bytes both matched the sidecar's size and SHA-256: a
    /// truncated, corrupted or foreign object never becomes a file that looks like a backup.
    /// </summary>
    public async Task<string> DownloadAsync(RemoteCopy copy, string folder, CancellationToken cancellationToken)
    {
        var objectKey = copy.Key;
        var sidecar = copy.Sidecar;
        var encrypted = sidecar.Encryption;
        var key = encrypted is null ? null : keys!.Require(encrypted.KeyId, store.Location + objectKey);
        WarnAboutSeal(copy);

        var name = RemoteLayout.FileNameOf(objectKey);
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

                // Not fsynced: the download folder is scratch, removed when the restore ends or stops, and what the
                // restore builds from this file is verified and made durable before it replaces anything.
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (written.Bytes != sidecar.SizeBytes || written.HexHash() != sidecar.Sha256)
                {
                    throw new CellarException($"{store.Location}{objectKey}: the downloaded backup does not match its sidecar ({written.Bytes} bytes, expected {sidecar.SizeBytes}); the copy is damaged");
                }
            }

            if (encrypted is not null && (stored.Bytes != encrypted.SizeBytes || stored.HexHash() != encrypted.Sha256))
            {
                throw new CellarException($"{store.Location}{objectKey}: the object does not match the size and SHA-256 recorded when it was uploaded; the copy is damaged");
            }
        }

        (sidecar with { Encryption = null }).Write(target);
        temp.Commit(target);
        return target;
    }

    private void WarnAboutSeal(RemoteCopy copy)
    {
        var location = store.Location + copy.Key;
        switch (copy.Seal)
        {
            case SealKind.None when keys is null:
                warn($"{location} is not sealed: no encryption key is configured, so nothing proves Cellar made it rather than someone who can write to {destination.Name}");
                break;
            case SealKind.None:
                warn($"{location} is NOT sealed and is restored only because of --accept-unsealed: nothing proves Cellar made it rather than someone who can write to {destination.Name}");
                break;
            case SealKind.Legacy:
                warn($"{location} carries the seal of an older Cellar, which covers only part of its sidecar; `cellar sync --repair` on the machine that made it seals it whole");
                break;
            case SealKind.Sealed:
                break;
        }
    }
}

/// <summary>One backup object at a destination, and whether its sidecar is there too.</summary>
internal sealed record RemoteBackup(StoredObject Object, bool HasSidecar)
{
    /// <summary>True when the object is an encrypted copy.</summary>
    public bool Encrypted => RemoteLayout.IsEncrypted(Object.Key);
}

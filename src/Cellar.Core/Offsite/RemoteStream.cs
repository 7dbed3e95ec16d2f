using System.Text;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Replication;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// A stream job's history as another machine finds it at a destination: the generation and base a moment needs, and
/// every segment after that base, brought into a scratch folder laid out as the job's own folder is, so the restore
/// that follows is the very one a local stream takes (each record's checksum, no hole, integrity_check). Nothing is
/// taken on trust where a key is configured: the manifest must open sealed under its own name, every segment must be
/// encrypted and name its generation and range inside, and a base comes through the same checked download as any copy.
/// </summary>
internal sealed class RemoteStream
{
    private readonly IObjectStore _store;
    private readonly RemoteBackups _backups;
    private readonly Action<string> _warn;

    internal RemoteStream(IObjectStore store, RemoteBackups backups, Action<string> warn) => (_store, _backups, _warn) = (store, backups, warn);

    /// <summary>
    /// Downloads what restoring <paramref name="job"/> at <paramref name="at"/> (null: its newest point) needs into
    /// <paramref name="folder"/>, and returns the job as it reads from there.
    /// </summary>
    public async Task<StreamJob> FetchAsync(StreamJob job, DateTimeOffset? at, string folder, CancellationToken cancellationToken)
    {
        var prefix = RemoteLayout.PrefixOf(job);
        var generations = await GenerationsAsync(_store, job, cancellationToken).ConfigureAwait(false);
        foreach (var (generation, names) in generations.Reverse())
        {
            if (await ChooseBaseAsync(job, generation, names, at, cancellationToken).ConfigureAwait(false) is not { } chosen)
            {
                continue;
            }

            var local = Path.Combine(folder, generation);
            SecureFiles.EnsureFolder(local);
            await FetchManifestAsync(job, generation, names, local, cancellationToken).ConfigureAwait(false);
            var baseTxid = Generation.BaseTxid(RemoteLayout.FileNameOf(chosen.Key))!.Value;
            await FetchChainAsync(job, generation, names, chosen, baseTxid, local, cancellationToken).ConfigureAwait(false);
            foreach (var name in names)
            {
                if (Generation.SegmentRange(RemoteLayout.PlainKey(name)) is { } range && range.Last > baseTxid)
                {
                    await FetchSegmentAsync(job, generation, name, range, local, cancellationToken).ConfigureAwait(false);
                }
            }

            return job with { Folder = folder };
        }

        throw at is null
            ? new CellarException($"{_store.Location}{prefix}: no stream of job '{job.Name}' with a base image")
            : new CellarException($"{_store.Location}{prefix}: the stream of job '{job.Name}' holds nothing as old as {at:yyyy-MM-dd HH:mm:ss.fff zzz}");
    }

    /// <summary>What the destination holds of <paramref name="job"/>'s stream (one listing): the names of each generation's objects, by generation, oldest first.</summary>
    public static async Task<SortedDictionary<string, List<string>>> GenerationsAsync(IObjectStore store, StreamJob job, CancellationToken cancellationToken)
    {
        var prefix = RemoteLayout.PrefixOf(job);
        var generations = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var parts = item.Key[prefix.Length..].Split('/');
            if (parts.Length == 2)
            {
                (generations.TryGetValue(parts[0], out var names) ? names : generations[parts[0]] = []).Add(parts[1]);
            }
        }

        return generations;
    }

    /// <summary>The configured key an encrypted object's header names (one more GET, of its first bytes).</summary>
    private async Task<EncryptionKey> KeyOfAsync(string key, CancellationToken cancellationToken)
    {
        var keys = _backups.Keys ?? throw new CellarException($"{_store.Location}{key} is encrypted, and no key is configured");
        var header = new byte[EncryptionFormat.HeaderLength];
        await using (var source = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false))
        {
            header = header[..await source.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false)];
        }

        return EncryptionFormat.KeyIdOf(header) is { } id ? keys.Require(id, _store.Location + key)
            : throw new CellarException($"{_store.Location}{key}: not a Cellar-encrypted file (no CELLARE1 header)");
    }

    /// <summary>The newest base of the generation taken at or before <paramref name="at"/> (its sidecar read and checked), or null.</summary>
    private async Task<RemoteCopy?> ChooseBaseAsync(StreamJob job, string generation, List<string> names, DateTimeOffset? at, CancellationToken cancellationToken)
    {
        var bases = names.Where(n => Generation.BaseTxid(RemoteLayout.PlainKey(n)) is not null).OrderByDescending(n => Generation.BaseTxid(RemoteLayout.PlainKey(n)));
        foreach (var name in bases)
        {
            var copy = await _backups.OpenAsync(RemoteLayout.StreamPrefixOf(job, generation) + name, cancellationToken).ConfigureAwait(false);
            if (at is null || copy.Sidecar.Created <= at)
            {
                return copy;
            }
        }

        return null;
    }

    /// <summary>
    /// Downloads the chosen base and, when it is a page set, the bases it was made over (back to the whole base its
    /// chain begins with), each through the checked download of any copy; the restore proves the image they make.
    /// </summary>
    private async Task FetchChainAsync(StreamJob job, string generation, List<string> names, RemoteCopy chosen, long txid, string local, CancellationToken cancellationToken)
    {
        var bases = names.Where(n => Generation.BaseTxid(RemoteLayout.PlainKey(n)) is { } t && t <= txid).OrderBy(n => Generation.BaseTxid(RemoteLayout.PlainKey(n))).ToList();
        var chain = StreamBaseImage.Chain(bases, bases.Count - 1, n => Generation.IsFullBase(RemoteLayout.PlainKey(n)));
        foreach (var name in chain.SkipLast(1))
        {
            var copy = await _backups.OpenAsync(RemoteLayout.StreamPrefixOf(job, generation) + name, cancellationToken).ConfigureAwait(false);
            await _backups.DownloadAsync(copy, local, cancellationToken).ConfigureAwait(false);
        }

        await _backups.DownloadAsync(chosen, local, cancellationToken).ConfigureAwait(false);
    }

    private async Task FetchManifestAsync(StreamJob job, string generation, List<string> names, string local, CancellationToken cancellationToken)
    {
        var keys = _backups.Keys;
        var name = Generation.ManifestName + (keys is null ? "" : RemoteLayout.EncryptedSuffix);
        var key = RemoteLayout.StreamPrefixOf(job, generation) + name;
        if (!names.Contains(name))
        {
            throw new CellarException(keys is not null && names.Contains(Generation.ManifestName)
                ? $"{_store.Location}{key}: generation {generation} has only an unsealed manifest, and with a key configured nothing unsealed is restored"
                : $"{_store.Location}{key}: generation {generation} has no manifest");
        }

        var bytes = await _store.ReadSmallAsync(key, cancellationToken).ConfigureAwait(false);
        if (keys is null)
        {
            _warn($"{_store.Location}{key} is not sealed: no encryption key is configured, so nothing proves Cellar made this stream rather than someone who can write to the destination");
        }
        else
        {
            try
            {
                bytes = SealedEnvelope.Open(keys, bytes, StreamUpload.ManifestFormat, key, _store.Location + key);
            }
            catch (DecryptionException e)
            {
                throw new CellarException(e.Message, e);
            }
        }

        var manifest = System.Text.Json.JsonSerializer.Deserialize(bytes, GenerationJson.Default.GenerationManifest);
        if (manifest?.Id != generation)
        {
            throw new CellarException($"{_store.Location}{key}: the manifest is not generation {generation}'s");
        }

        DurableJson.Write(Path.Combine(local, Generation.ManifestName), manifest, GenerationJson.Default.GenerationManifest, replace: false);
    }

    /// <summary>Downloads one segment object into the scratch generation under its plain name, once its first line names exactly it.</summary>
    private async Task FetchSegmentAsync(StreamJob job, string generation, string name, (long First, long Last) range, string local, CancellationToken cancellationToken)
    {
        var keys = _backups.Keys;
        var key = RemoteLayout.StreamPrefixOf(job, generation) + name;
        var encrypted = RemoteLayout.IsEncrypted(name);
        if (keys is not null && !encrypted)
        {
            throw new CellarException($"{_store.Location}{key}: an unencrypted segment where, with a key configured, every segment Cellar uploads is encrypted; not restored");
        }

        var target = Path.Combine(local, RemoteLayout.PlainKey(name));
        using var temp = TempFile.For(local, RemoteLayout.PlainKey(name));
        try
        {
            // Encrypted with the key current when it was sent, which a rotation since may have made a previous one.
            var cipherKey = encrypted ? await KeyOfAsync(key, cancellationToken).ConfigureAwait(false) : null;
            await using (var source = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false))
            await using (var plain = cipherKey is null ? source : new DecryptingStream(source, cipherKey, leaveOpen: true))
            await using (var file = SecureFiles.CreateNew(temp.Path))
            {
                var expected = Encoding.ASCII.GetBytes(StreamUpload.SegmentHeader(generation, range.First, range.Last));
                var header = new byte[expected.Length];
                if (await plain.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) != header.Length || !header.AsSpan().SequenceEqual(expected))
                {
                    throw new CellarException($"{_store.Location}{key}: it is not the segment its name says (generation {generation}, transactions {range.First} to {range.Last})");
                }

                // Not fsynced: the scratch folder is thrown away if the restore is cut short, and what it builds is
                // verified and made durable before it replaces anything.
                await plain.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (DecryptionException e)
        {
            throw new CellarException($"{_store.Location}{key}: {e.Message}", e);
        }

        temp.Commit(target);
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Offsite;

/// <summary>
/// What one destination holds of one database, as confirmed by Cellar itself: a JSON file per database and
/// destination in <c>BACKUP_ROOT/.cellar-offsite/</c> (databases may share a backup root), replaced atomically. The daemon never needs to list the
/// bucket: a local backup without an entry here is pending (that is the upload queue, and it survives restarts
/// and outages because it is derived from the backups on disk), one with an entry is offsite.
/// </summary>
internal sealed class OffsiteLedger
{
    private readonly string _path;
    private readonly Dictionary<string, OffsiteEntry> _entries;

    private OffsiteLedger(string path, Dictionary<string, OffsiteEntry> entries, ManifestState? manifest)
    {
        _path = path;
        _entries = entries;
        Manifest = manifest;
    }

    /// <summary>The folder ledgers (and the lock that serializes offsite work between processes) live in.</summary>
    public static string FolderOf(DatabaseConfig database) => Path.Combine(database.BackupRoot, ".cellar-offsite");

    /// <summary>Confirmed copies, by object key.</summary>
    public IReadOnlyCollection<OffsiteEntry> Entries => _entries.Values;

    /// <summary>The last manifest written to (or adopted from) the destination; null before the first.</summary>
    public ManifestState? Manifest { get; private set; }

    /// <summary>True when the destination's manifest lists exactly <see cref="Entries"/>.</summary>
    public bool ManifestCurrent => Manifest is { Current: true };

    /// <summary>Reads the ledger of <paramref name="destination"/> (empty when there is none yet).</summary>
    public static OffsiteLedger Load(DatabaseConfig database, OffsiteDestination destination)
    {
        var path = Path.Combine(FolderOf(database), $"{database.Name}.{destination.Name}.json");
        if (!File.Exists(path))
        {
            return new OffsiteLedger(path, [], null);
        }

        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), OffsiteLedgerJson.Default.LedgerFile);
            return new OffsiteLedger(path, (file?.Entries ?? []).ToDictionary(e => e.Key, StringComparer.Ordinal), file?.Manifest);
        }
        catch (JsonException e)
        {
            throw new CellarException($"offsite ledger {path} is not valid ({e.Message}); move it away and run `cellar sync` to rebuild it from the destination", e);
        }
    }

    /// <summary>Records a confirmed copy and saves; the manifest is then behind until it is written again.</summary>
    public void Confirm(OffsiteEntry entry)
    {
        _entries[entry.Key] = entry;
        Behind();
        Save();
    }

    /// <summary>Forgets a copy (deleted, or found missing) and saves; the manifest is then behind until it is written again.</summary>
    public void Forget(string key)
    {
        if (_entries.Remove(key))
        {
            Behind();
            Save();
        }
    }

    /// <summary>
    /// Takes over what a manifest lists that this ledger lacks (it was lost, or this is a new machine) and its
    /// counter, so the next manifest continues the count and keeps listing copies made before.
    /// </summary>
    public void Adopt(OffsiteManifest manifest, string keyId)
    {
        foreach (var copy in manifest.Copies.Where(c => !_entries.ContainsKey(c.Key)))
        {
            _entries[copy.Key] = copy;
        }

        Manifest = new ManifestState(Math.Max(manifest.Counter, Manifest?.Counter ?? 0), keyId, Current: false);
        Save();
    }

    /// <summary>Records that the manifest numbered <paramref name="counter"/>, sealed with <paramref name="keyId"/>, now lists every entry.</summary>
    public void ManifestWritten(long counter, string keyId)
    {
        Manifest = new ManifestState(counter, keyId, Current: true);
        Save();
    }

    private void Behind() => Manifest = Manifest is null ? null : Manifest with { Current = false };

    private void Save()
    {
        SecureFiles.EnsureFolder(Path.GetDirectoryName(_path)!);
        var file = new LedgerFile(1, [.. _entries.Values.OrderBy(e => e.Key, StringComparer.Ordinal)]) { Manifest = Manifest };
        DurableJson.Write(_path, file, OffsiteLedgerJson.Default.LedgerFile, replace: true);
    }

    /// <summary>The file's shape.</summary>
    internal sealed record LedgerFile(int Format, IReadOnlyList<OffsiteEntry> Entries)
    {
        /// <summary>Absent in ledgers written before manifests existed.</summary>
        public ManifestState? Manifest { get; init; }
    }
}

/// <summary>
/// The last manifest of a destination this machine wrote or adopted: its counter (a restore that finds a lower one
/// at the destination knows the manifest was rolled back), the key it was sealed with (a pass without any key must
/// not go on with unsealed copies), and whether it still lists every entry of the ledger.
/// </summary>
internal sealed record ManifestState(long Counter, string KeyId, bool Current);

/// <summary>
/// One confirmed offsite copy: the object key, the job and local backup it copies (its path and SHA-256: a file
/// made again under the same name is another backup), when that backup was made, and the stored object's size and
/// SHA-256 (of the encrypted bytes when <see cref="KeyId"/> is set).
/// </summary>
internal sealed record OffsiteEntry(
    string Key, string Job, string LocalPath, string BackupSha256, DateTimeOffset Created, long SizeBytes, string Sha256, string? KeyId, DateTimeOffset ConfirmedAt)
{
    /// <summary>
    /// True when the copy's sidecar is sealed whole; false for copies uploaded without a key or by a Cellar that
    /// sealed only eight fields, which <c>sync --repair</c> re-seals.
    /// </summary>
    public bool Sealed { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(OffsiteLedger.LedgerFile))]
internal sealed partial class OffsiteLedgerJson : JsonSerializerContext;

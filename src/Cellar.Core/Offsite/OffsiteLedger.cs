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

    private OffsiteLedger(string path, Dictionary<string, OffsiteEntry> entries)
    {
        _path = path;
        _entries = entries;
    }

    /// <summary>The folder ledgers (and the lock that serializes offsite work between processes) live in.</summary>
    public static string FolderOf(DatabaseConfig database) => Path.Combine(database.BackupRoot, ".cellar-offsite");

    /// <summary>Confirmed copies, by object key.</summary>
    public IReadOnlyCollection<OffsiteEntry> Entries => _entries.Values;

    /// <summary>Reads the ledger of <paramref name="destination"/> (empty when there is none yet).</summary>
    public static OffsiteLedger Load(DatabaseConfig database, OffsiteDestination destination)
    {
        var path = Path.Combine(FolderOf(database), $"{database.Name}.{destination.Name}.json");
        if (!File.Exists(path))
        {
            return new OffsiteLedger(path, []);
        }

        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), OffsiteLedgerJson.Default.LedgerFile);
            return new OffsiteLedger(path, (file?.Entries ?? []).ToDictionary(e => e.Key, StringComparer.Ordinal));
        }
        catch (JsonException e)
        {
            throw new CellarException($"offsite ledger {path} is not valid ({e.Message}); move it away and run `cellar sync` to rebuild it from the destination", e);
        }
    }

    /// <summary>Records a confirmed copy and saves.</summary>
    public void Confirm(OffsiteEntry entry)
    {
        _entries[entry.Key] = entry;
        Save();
    }

    /// <summary>Forgets a copy (deleted, or found missing) and saves.</summary>
    public void Forget(string key)
    {
        if (_entries.Remove(key))
        {
            Save();
        }
    }

    private void Save()
    {
        SecureFiles.EnsureFolder(Path.GetDirectoryName(_path)!);
        var file = new LedgerFile(1, [.. _entries.Values.OrderBy(e => e.Key, StringComparer.Ordinal)]);
        DurableJson.Write(_path, file, OffsiteLedgerJson.Default.LedgerFile, replace: true);
    }

    /// <summary>The file's shape.</summary>
    internal sealed record LedgerFile(int Format, IReadOnlyList<OffsiteEntry> Entries);
}

/// <summary>
/// One confirmed offsite copy: the object key, the job and local backup it copies (its path and SHA-256: a file
/// made again under the same name is another backup), when that backup was made, and the stored object's size and
/// SHA-256 (of the encrypted bytes when <see cref="KeyId"/> is set).
/// </summary>
internal sealed record OffsiteEntry(
    string Key, string Job, string LocalPath, string BackupSha256, DateTimeOffset Created, long SizeBytes, string Sha256, string? KeyId, DateTimeOffset ConfirmedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(OffsiteLedger.LedgerFile))]
internal sealed partial class OffsiteLedgerJson : JsonSerializerContext;

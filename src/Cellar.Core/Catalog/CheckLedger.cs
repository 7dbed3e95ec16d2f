using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.IO;

namespace Cellar.Core.Catalog;

/// <summary>
/// What the checks of stored backups found, per job folder (<c>.cellar-checks.json</c>): a backup that was proven
/// when it was written can rot later, and once a check has found that, listing, status, health, restore selection
/// and retention must all know, without re-reading the file. A record is tied to the checksum the backup's sidecar
/// states, so a new backup that takes a pruned one's name never inherits its verdict. Written under the folder's lock.
/// </summary>
public static class CheckLedger
{
    /// <summary>The ledger's file name in a job folder.</summary>
    public const string FileName = ".cellar-checks.json";

    /// <summary>The records of <paramref name="folder"/>, by backup file name; empty when none or unreadable.</summary>
    public static IReadOnlyDictionary<string, CheckRecord> Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        try
        {
            return File.Exists(path)
                ? JsonSerializer.Deserialize(SecureFiles.ReadSmall(path), CheckLedgerJson.Default.DictionaryStringCheckRecord) ?? []
                : new Dictionary<string, CheckRecord>();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return new Dictionary<string, CheckRecord>();
        }
    }

    /// <summary>
    /// Records the outcome of a check of <paramref name="backupPath"/>, and forgets records of backups that are gone.
    /// The caller holds the folder's lock.
    /// </summary>
    internal static void Record(string backupPath, CheckRecord record)
    {
        var folder = Path.GetDirectoryName(backupPath)!;
        var records = Read(folder).Where(r => File.Exists(Path.Combine(folder, r.Key))).ToDictionary(StringComparer.Ordinal);
        records[Path.GetFileName(backupPath)] = record;
        DurableJson.Write(Path.Combine(folder, FileName), records, CheckLedgerJson.Default.DictionaryStringCheckRecord, replace: true);
    }
}

/// <summary>One check of a stored backup.</summary>
/// <param name="At">When it ran.</param>
/// <param name="Ok">Whether the backup passed.</param>
/// <param name="Problem">What was wrong, when it failed.</param>
/// <param name="Sha256">The checksum the backup's sidecar stated then: the record applies only while it still does.</param>
public sealed record CheckRecord(DateTimeOffset At, bool Ok, string? Problem, string? Sha256);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Dictionary<string, CheckRecord>))]
internal sealed partial class CheckLedgerJson : JsonSerializerContext;

using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.IO;

namespace Cellar.Core.Catalog;

/// <summary>
/// The JSON file beside every backup (<c>&lt;file&gt;.json</c>): what was backed up, when, from where, what it
/// must contain and its checksum. The backup files plus these sidecars are Cellar's whole catalog; there
/// is no separate index that could drift from what is on disk.
/// </summary>
public sealed record Sidecar
{
    /// <summary>The extension appended to a backup's name.</summary>
    public const string Suffix = ".json";

    /// <summary>Format version of this file.</summary>
    public int Format { get; init; } = 1;

    /// <summary>
    /// The name of the kind of artifact the file is ("dump", "log"; absent for a snapshot, as snapshot sidecars have
    /// always left it). What it means (its proof, its restore) is the kind's: <c>ArtifactKinds</c> finds it by this name.
    /// </summary>
    public string? Kind { get; init; }

    /// <summary>The job that made the backup.</summary>
    public required string Job { get; init; }

    /// <summary>The configured name of the source database.</summary>
    public required string Database { get; init; }

    /// <summary>The tag as given by the caller (e.g. a gallery name), unmodified.</summary>
    public string? Tag { get; init; }

    /// <summary>The tag as it appears in the file name.</summary>
    public string? TagSlug { get; init; }

    /// <summary>When the snapshot was taken (UTC).</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Path of the live database.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The source's page size in bytes.</summary>
    public long SourcePageSize { get; init; }

    /// <summary>The source's page count at the snapshot.</summary>
    public long SourcePageCount { get; init; }

    /// <summary>The snapshot's size in bytes (page size × page count).</summary>
    public long SourceBytes { get; init; }

    /// <summary>The source's journal mode (wal, delete, …).</summary>
    public string? JournalMode { get; init; }

    /// <summary>Rows per table in the snapshot.</summary>
    public required IReadOnlyDictionary<string, long> RowCounts { get; init; }

    /// <summary>
    /// Rows <c>PRAGMA foreign_key_check</c> reported in the snapshot (the source's own state, kept faithfully); null when
    /// it was published before its full check, which counts them.
    /// </summary>
    public long? ForeignKeyViolations { get; init; }

    /// <summary>Lowercase hex SHA-256 of the stored (compressed) file.</summary>
    public required string Sha256 { get; init; }

    /// <summary>Size of the stored file in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>gzip, zstd or none.</summary>
    public required string Compression { get; init; }

    /// <summary>True once the restore drill passed before the backup took its final name.</summary>
    public bool Verified { get; init; }

    /// <summary>
    /// 1 when the backup took its name after the quick proof alone (it decompresses to exactly what was taken; a
    /// snapshot passes <c>quick_check</c> and its row counts), its full check still to come (<see cref="CheckLedger"/>
    /// records it); absent when the full proof ran first (<c>"fullCheck": "inline"</c>, and every backup made before
    /// there were two stages).
    /// </summary>
    public int? Stage { get; init; }

    /// <summary>How long the whole backup took, verification included.</summary>
    public long DurationMs { get; init; }

    /// <summary>How long taking the snapshot kept the app's writers from committing (null: not at all).</summary>
    public long? WritersHeldOffMs { get; init; }

    /// <summary>The Cellar version that wrote it.</summary>
    public required string CellarVersion { get; init; }

    /// <summary>
    /// On an offsite copy's sidecar only: the copy is encrypted (docs/encryption-format.md), with this key and to
    /// this size and hash. Everything above still describes the plain backup the copy decrypts to.
    /// </summary>
    public EncryptedCopy? Encryption { get; init; }

    /// <summary>Path of the sidecar for <paramref name="backupPath"/>.</summary>
    public static string PathFor(string backupPath) => backupPath + Suffix;

    /// <summary>Reads a sidecar; null when it does not exist; <see cref="InvalidDataException"/> when unreadable.</summary>
    public static Sidecar? TryRead(string backupPath)
    {
        var path = PathFor(backupPath);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(SecureFiles.ReadSmall(path), SidecarJson.Default.Sidecar)
                ?? throw new InvalidDataException($"sidecar {path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"sidecar {path} is not valid JSON for a sidecar{(e.LineNumber is { } line ? $" (line {line + 1})" : "")}: {Brief(e.Message)}", e);
        }
    }

    /// <summary>The first sentence of a JSON error, without the JSON path and the 0-based position it repeats.</summary>
    private static string Brief(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        var cut = line.IndexOf(" Path:", StringComparison.Ordinal);
        var first = (cut >= 0 ? line[..cut] : line).Trim();
        return first.Length > 160 ? first[..160] + "…" : first;
    }

    /// <summary>
    /// Gives a verified backup its final name, sidecar first: a crash between the two renames leaves an orphan
    /// sidecar (swept by the next run), never a backup without the checksum that proves it.
    /// </summary>
    internal void Publish(TempFile stored, string finalPath)
    {
        CrashPoint.Reach(CrashPoint.PublishStart);
        Write(finalPath);
        CrashPoint.Reach(CrashPoint.SidecarWritten);
        try
        {
            stored.Commit(finalPath);
        }
        catch
        {
            // Someone else took the name meanwhile (the seed's cron during a migration): our sidecar must not stay
            // beside a file that is not ours.
            File.Delete(PathFor(finalPath));
            throw;
        }

        CrashPoint.Reach(CrashPoint.Published);
    }

    /// <summary>Writes the sidecar of <paramref name="backupPath"/> atomically (temp, fsync, rename); never replaces one.</summary>
    public void Write(string backupPath) => DurableJson.Write(PathFor(backupPath), this, SidecarJson.Default.Sidecar, replace: false);
}

/// <summary>
/// How an offsite copy was encrypted: the format, the key's public id, the encrypted object's size and SHA-256, and
/// the seal (an HMAC under the key) that binds this sidecar to its object.
/// </summary>
public sealed record EncryptedCopy(string Format, string KeyId, long SizeBytes, string Sha256, string? Seal = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Sidecar))]
internal sealed partial class SidecarJson : JsonSerializerContext;

using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Cellar.Core.IO;
using Cellar.Core.Wal;

namespace Cellar.Core.Replication;

/// <summary>
/// One unbroken line of a database's history: a base image and every transaction after it, numbered from 1 without a
/// hole. A follower starts a new generation whenever it cannot prove the line goes on (the WAL was restarted before it
/// read all of it, the database was replaced, its page size changed, Cellar was down while the app checkpointed), so
/// a generation never holds a silent gap. Its folder, named by its start time so names sort as they began
/// (docs/stream-format.md): <c>generation.json</c>, base images <c>base-TXID-TIME.sqlite.zst</c> with their sidecars,
/// sealed segments <c>FIRST-LAST.segment.zst</c>, and the <c>journal</c> of transactions not yet sealed.
/// </summary>
internal sealed record Generation(string Folder, GenerationManifest Manifest)
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "generation.json";

    /// <summary>The journal's file name.</summary>
    public const string JournalName = "journal";

    /// <summary>The extension of sealed segments.</summary>
    public const string SegmentExtension = ".segment.zst";

    /// <summary>The generation's id, its folder's name.</summary>
    public string Id => Manifest.Id;

    /// <summary>The journal's path.</summary>
    public string JournalPath => Path.Combine(Folder, JournalName);

    /// <summary>Starts a new generation in <paramref name="jobFolder"/>: its folder and manifest, durable before anything goes in.</summary>
    public static Generation Create(string jobFolder, DateTimeOffset now, string database, UnixFiles.FileId? file, int pageSize, WalPosition start)
    {
        var id = $"{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var folder = Path.Combine(jobFolder, id);
        SecureFiles.EnsureFolder(folder);
        var manifest = new GenerationManifest(1, id, now, database, file, pageSize, start);
        DurableJson.Write(Path.Combine(folder, ManifestName), manifest, GenerationJson.Default.GenerationManifest, replace: false);
        return new Generation(folder, manifest);
    }

    /// <summary>The job's generations, oldest first; folders without a readable manifest (a start cut short) are left out.</summary>
    public static IReadOnlyList<Generation> List(string jobFolder)
    {
        if (!Directory.Exists(jobFolder))
        {
            return [];
        }

        var found = new List<Generation>();
        foreach (var folder in Directory.EnumerateDirectories(jobFolder).Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(folder, ManifestName);
            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                var manifest = System.Text.Json.JsonSerializer.Deserialize(SecureFiles.ReadSmall(path), GenerationJson.Default.GenerationManifest);
                if (manifest is { Format: 1 } && manifest.Id == Path.GetFileName(folder))
                {
                    found.Add(new Generation(folder, manifest));
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // Not ours, or written by a later format: not a generation this version can read or extend.
            }
        }

        return found;
    }

    /// <summary>The sealed segments, by their first transaction: (first, last, path).</summary>
    public IReadOnlyList<(long First, long Last, string Path)> Segments()
    {
        var segments = new List<(long, long, string)>();
        foreach (var path in Directory.EnumerateFiles(Folder, "*" + SegmentExtension))
        {
            if (SegmentRange(Path.GetFileName(path)) is var (first, last))
            {
                segments.Add((first, last, path));
            }
        }

        return [.. segments.OrderBy(s => s.Item1)];
    }

    /// <summary>The transactions a segment named <paramref name="fileName"/> (<c>FIRST-LAST.segment.zst</c>, hex) holds; null for another name.</summary>
    public static (long First, long Last)? SegmentRange(string fileName)
    {
        if (!fileName.EndsWith(SegmentExtension, StringComparison.Ordinal))
        {
            return null;
        }

        var name = fileName[..^SegmentExtension.Length];
        return name.Length == 33 && name[16] == '-'
            && long.TryParse(name.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var first)
            && long.TryParse(name.AsSpan(17), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var last)
            && first >= 1 && last >= first ? (first, last) : null;
    }

    /// <summary>The name of the segment holding transactions <paramref name="first"/> to <paramref name="last"/>.</summary>
    public string SegmentPath(long first, long last) => Path.Combine(Folder, $"{first:x16}-{last:x16}{SegmentExtension}");

    /// <summary>The ending of a full base's name.</summary>
    public const string FullBaseExtension = ".sqlite.zst";

    /// <summary>The ending of a page set's name (a base stored as the pages changed since the one before).</summary>
    public const string PageSetExtension = ".pages.zst";

    /// <summary>
    /// The transaction a base named <paramref name="fileName"/> (<c>base-TXID-….sqlite.zst</c>, or <c>.pages.zst</c> for a
    /// page set) was taken after; null for another name.
    /// </summary>
    public static long? BaseTxid(string fileName) =>
        fileName.Length > 21 && fileName.StartsWith("base-", StringComparison.Ordinal)
        && (IsFullBase(fileName) || fileName.EndsWith(PageSetExtension, StringComparison.Ordinal))
        && long.TryParse(fileName.AsSpan(5, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var txid) ? txid : null;

    /// <summary>Whether a base named <paramref name="fileName"/> is a whole image rather than a page set.</summary>
    public static bool IsFullBase(string fileName) => fileName.EndsWith(FullBaseExtension, StringComparison.Ordinal);

    /// <summary>When a base image named <paramref name="fileName"/> was taken, to the second (its name carries the UTC time); null for another name.</summary>
    public static DateTimeOffset? BaseTime(string fileName) =>
        BaseTxid(fileName) is not null && fileName.Length >= 37
        && DateTime.TryParseExact(fileName.AsSpan(22, 15), "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var taken)
            ? new DateTimeOffset(taken, TimeSpan.Zero) : null;

    /// <summary>The tag a base taken after transaction <paramref name="txid"/> carries (its name is <c>base-TAG-TIME.sqlite.zst</c>).</summary>
    public static string BaseTag(long txid) => txid.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>
/// What a generation is: its id, when it began, the database it follows (its path, and the file's device and inode then:
/// another file under the name, a restore or a copy put in place, cannot go on the same line), the page size every page
/// in it has, and the WAL position its first base was taken at (where a follower restarted before any transaction goes
/// on from).
/// </summary>
internal sealed record GenerationManifest(int Format, string Id, DateTimeOffset Created, string Database, UnixFiles.FileId? File, int PageSize, WalPosition Start);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(GenerationManifest))]
internal sealed partial class GenerationJson : JsonSerializerContext;

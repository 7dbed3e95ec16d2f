using Cellar.Core.Catalog;
using Cellar.Core.Configuration;

namespace Cellar.Core.Offsite;

/// <summary>
/// Where copies live in a destination, and what a key says about its copy: <c>DATABASE/JOB/FILE</c>, <c>.enc</c>
/// appended when encrypted, the sidecar at <c>DATABASE/JOB/FILE.json</c>; a stream job's history one level down, at
/// <c>DATABASE/JOB/GENERATION/</c> (docs/stream-format.md, "Offsite"). The one place that both writes and reads
/// the layout, so a copy is always found where it was put.
/// </summary>
internal static class RemoteLayout
{
    /// <summary>What encrypted objects' keys end with.</summary>
    public const string EncryptedSuffix = ".enc";

    /// <summary>The key prefix of a job's copies: <c>DATABASE/JOB/</c>.</summary>
    public static string PrefixOf(JobConfig job) => $"{job.Database.Name}/{job.Name}/";

    /// <summary>The key prefix of one generation of a stream job: <c>DATABASE/JOB/GENERATION/</c>.</summary>
    public static string StreamPrefixOf(JobConfig job, string generation) => $"{PrefixOf(job)}{generation}/";

    /// <summary>The object key of a backup of <paramref name="job"/> named <paramref name="fileName"/>.</summary>
    public static string KeyFor(JobConfig job, string fileName, bool encrypted) =>
        PrefixOf(job) + fileName + (encrypted ? EncryptedSuffix : "");

    /// <summary>The object key of a backup's sidecar (always plain JSON, beside the backup's plain name).</summary>
    public static string SidecarKeyFor(string objectKey) => PlainKey(objectKey) + Sidecar.Suffix;

    /// <summary>Whether the object under <paramref name="objectKey"/> is encrypted.</summary>
    public static bool IsEncrypted(string objectKey) => objectKey.EndsWith(EncryptedSuffix, StringComparison.Ordinal);

    /// <summary>The database a copy belongs to: the key's first segment.</summary>
    public static string DatabaseOf(string objectKey) => objectKey.Split('/')[0];

    /// <summary>The backup's file name, as it was (and will be again) on disk.</summary>
    public static string FileNameOf(string objectKey) => Path.GetFileName(PlainKey(objectKey));

    /// <summary>The key (or name) without <see cref="EncryptedSuffix"/>: what the object is called when it is not encrypted.</summary>
    public static string PlainKey(string objectKey) => IsEncrypted(objectKey) ? objectKey[..^EncryptedSuffix.Length] : objectKey;
}

using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Catalog;

/// <summary>
/// Lists a job's backups straight from its folder: a file is the job's when its name matches the job's
/// pattern, so strangers' files are never listed (and so never pruned), and a backup whose sidecar was
/// lost is still found by its name.
/// </summary>
public static class BackupCatalog
{
    /// <summary>The path for a new backup taken at <paramref name="local"/>: the pattern's name, suffixed when taken.</summary>
    internal static string FreePath(JobConfig job, DateTime local, string? slug) => FreeName.First(
        collision => Path.Combine(job.Folder, job.FileName.Render(local, slug, collision)),
        path => File.Exists(path) || File.Exists(Sidecar.PathFor(path)));

    /// <summary>The job whose backup <paramref name="path"/> is (its folder, a name of its pattern), or null.</summary>
    public static JobConfig? JobOf(CellarConfig config, string path)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full);
        return config.Jobs.FirstOrDefault(j => j.Folder == folder && j.FileName.TryMatch(Path.GetFileName(full), out _, out _));
    }

    /// <summary>The job's backups, newest first.</summary>
    public static IReadOnlyList<BackupEntry> List(JobConfig job, TimeZoneInfo zone)
    {
        if (!Directory.Exists(job.Folder))
        {
            return [];
        }

        var entries = new List<BackupEntry>();
        var checks = CheckLedger.Read(job.Folder);
        foreach (var file in new DirectoryInfo(job.Folder).EnumerateFiles())
        {
            if (!job.FileName.TryMatch(file.Name, out var local, out _))
            {
                continue;
            }

            Sidecar? sidecar = null;
            string? problem = null;
            try
            {
                sidecar = Sidecar.TryRead(file.FullName);
                problem = sidecar is null ? "sidecar missing" : null;
            }
            catch (InvalidDataException e)
            {
                problem = e.Message;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = e.Message;
            }

            var size = LengthOf(file);
            if (size is null)
            {
                continue; // Pruned by a concurrent run while we listed.
            }

            var created = sidecar?.Created ?? new DateTimeOffset(local, zone.GetUtcOffset(local));
            var check = checks.GetValueOrDefault(file.Name);
            entries.Add(new BackupEntry(file.FullName, created, size.Value, sidecar, problem) { LastCheck = check?.Sha256 == sidecar?.Sha256 ? check : null });
        }

        return entries.OrderByDescending(e => e.Created).ThenByDescending(e => e.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The file's size, or null when it is gone (a concurrent run pruned it while we listed).</summary>
    private static long? LengthOf(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }
}

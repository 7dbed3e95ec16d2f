using System.Globalization;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;

namespace Cellar.Core.Restore;

/// <summary>Picks the backup a restore means: the newest good one of a job, or the newest made at or before a time.</summary>
public static class BackupSelector
{
    /// <summary>The newest backup of <paramref name="jobName"/> that passed verification when written.</summary>
    public static BackupEntry Latest(CellarConfig config, string jobName)
    {
        var job = config.FindJob(jobName);
        return BackupCatalog.List(job, config.TimeZone).FirstOrDefault(e => e.LooksGood)
            ?? throw new CellarException($"job '{job.Name}' has no verified backup in {job.Folder}");
    }

    /// <summary>The newest snapshot made at or before <paramref name="at"/>, of one job or of any snapshot job.</summary>
    public static BackupEntry At(CellarConfig config, string at, string? jobName)
    {
        var when = ParseTime(at, config.TimeZone);
        var jobs = jobName is null ? config.Jobs.Where(j => j.Type == JobType.Snapshot) : [config.FindJob(jobName)];
        return jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone))
            .Where(e => e.Created <= when && e.LooksGood)
            .OrderByDescending(e => e.Created)
            .FirstOrDefault()
            ?? throw new CellarException($"no verified backup made at or before {when:u}");
    }

    /// <summary>Reads an ISO 8601 time; without an offset it is local time in the configured zone.</summary>
    public static DateTimeOffset ParseTime(string text, TimeZoneInfo zone)
    {
        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.RoundtripKind, out var parsed))
        {
            return parsed.Kind switch
            {
                DateTimeKind.Utc => new DateTimeOffset(parsed, TimeSpan.Zero),
                DateTimeKind.Local => new DateTimeOffset(parsed),
                _ => new DateTimeOffset(parsed, zone.GetUtcOffset(parsed)),
            };
        }

        throw new ConfigException($"'{text}' is not a time; use ISO 8601 such as 2026-11-20T14:00 or 2026-11-20T14:00Z");
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;

namespace Cellar.Core.Restore;

/// <summary>
/// Picks the backup a restore means: the newest good one of a job, or the newest made at or before a time. Each answer
/// lists the good backups in the order a restore should try them: should the first fail its check on the way in
/// (rot since it was last looked at), the next one is the state the operator asked for, as near as there is.
/// </summary>
public static partial class BackupSelector
{
    /// <summary>The good backups of <paramref name="jobName"/>, newest first; at least one.</summary>
    public static IReadOnlyList<BackupEntry> Latest(CellarConfig config, string jobName)
    {
        var job = config.FindJob(jobName);
        var good = BackupCatalog.List(job, config.TimeZone).Where(e => e.LooksGood).ToList();
        return good.Count > 0 ? good : throw new CellarException($"job '{job.Name}' has no verified backup in {job.Folder}");
    }

    /// <summary>The good backups made at or before <paramref name="at"/>, of one job or of any snapshot job, newest first; at least one.</summary>
    public static IReadOnlyList<BackupEntry> At(CellarConfig config, string at, string? jobName)
    {
        var until = LastInstantOf(at, config.TimeZone);
        var jobs = jobName is null ? config.Jobs.Where(j => j.Type == JobType.Snapshot) : [config.FindJob(jobName)];
        var good = jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone))
            .Where(e => e.Created <= until && e.LooksGood)
            .OrderByDescending(e => e.Created)
            .ToList();
        return good.Count > 0 ? good : throw new CellarException($"no verified backup made at or before {at} ({until:yyyy-MM-dd HH:mm:ss.fffffff zzz})");
    }

    /// <summary>
    /// The last instant an ISO 8601 time stands for, so that "at or before" it means what the operator wrote: a time
    /// to the second is that whole second (<c>cellar list</c> shows seconds, a backup's time has a fraction), a time to
    /// the minute the whole minute, a date alone the whole day; a time with a fraction is exact. Without an offset it
    /// is local time in the configured zone.
    /// </summary>
    public static DateTimeOffset LastInstantOf(string text, TimeZoneInfo zone)
    {
        var form = IsoTime().Match(text);
        if (!form.Success || !DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.RoundtripKind, out var parsed))
        {
            throw new ConfigException($"'{text}' is not a time; use ISO 8601 such as 2026-11-20T14:00 or 2026-11-20T14:00Z");
        }

        var span = form.Groups["fraction"].Success ? TimeSpan.Zero
            : form.Groups["second"].Success ? TimeSpan.FromSeconds(1)
            : form.Groups["minute"].Success ? TimeSpan.FromMinutes(1)
            : TimeSpan.FromDays(1);
        var last = span == TimeSpan.Zero ? parsed : parsed + span - TimeSpan.FromTicks(1);
        return last.Kind switch
        {
            DateTimeKind.Utc => new DateTimeOffset(last, TimeSpan.Zero),
            DateTimeKind.Local => new DateTimeOffset(last),

            // The zone's offset at the end of the span, not its start: a date alone ends after a DST change that day.
            _ => new DateTimeOffset(last, zone.GetUtcOffset(last)),
        };
    }

    /// <summary>A date, optionally with a time to the minute, second or a fraction of it, and an offset.</summary>
    [GeneratedRegex(@"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ](?<minute>[0-9]{2}:[0-9]{2})(?::(?<second>[0-9]{2})(?<fraction>[.,][0-9]+)?)?)?\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex IsoTime();
}

using Cellar.Core.Catalog;

namespace Cellar.Core.Retention;

/// <summary>
/// Which of a job's backups to keep: everything created within <c>keepDays</c>, judged by the creation time
/// in the sidecar or the file name (never the mtime, which a copy or restore from elsewhere resets), and
/// whatever the age, the newest <c>keepAtLeast</c> backups that passed their full check, so a job that stopped
/// working never loses its last good backup to the calendar. A backup still waiting for its full check may yet fail
/// it: it is protected only when too few have passed, before any that failed.
/// </summary>
public sealed record RetentionPlan(IReadOnlyList<BackupEntry> Keep, IReadOnlyList<BackupEntry> Delete)
{
    /// <summary>Plans retention for <paramref name="entries"/> at <paramref name="now"/>.</summary>
    public static RetentionPlan For(IReadOnlyList<BackupEntry> entries, DateTimeOffset now, int keepDays, int keepAtLeast)
    {
        var (keep, delete) = Split(entries, e => e.Created, e => e.Stage, now, keepDays, keepAtLeast);
        return new RetentionPlan(keep, delete);
    }

    /// <summary>
    /// The same rule for any kind of copy (local files, offsite objects): what to keep and what to delete, newest first.
    /// The <paramref name="keepAtLeast"/> protected are the newest of the best <paramref name="proven"/> (higher is
    /// better proven), topped up with the newest of the next best, so some are protected rather than none.
    /// </summary>
    internal static (List<T> Keep, List<T> Delete) Split<T>(IReadOnlyList<T> items, Func<T, DateTimeOffset> created, Func<T, int> proven, DateTimeOffset now, int keepDays, int keepAtLeast)
        where T : notnull
    {
        var cutoff = now - TimeSpan.FromDays(keepDays);
        var newestFirst = items.OrderByDescending(created).ToList();
        var protectedOnes = newestFirst.OrderByDescending(proven).Take(keepAtLeast).ToHashSet(); // a stable sort: newest first within each

        var keep = newestFirst.Where(i => created(i) >= cutoff || protectedOnes.Contains(i)).ToList();
        var delete = newestFirst.Where(i => !keep.Contains(i)).ToList();
        return (keep, delete);
    }
}

using Cellar.Core.Catalog;

namespace Cellar.Core.Retention;

/// <summary>
/// Which of a job's backups to keep: everything created within <c>keepDays</c>, judged by the creation time
/// in the sidecar or the file name (never the mtime, which a copy or restore from elsewhere resets), and
/// whatever the age, the newest <c>keepAtLeast</c> backups that passed verification, so a job that stopped
/// working never loses its last good backup to the calendar.
/// </summary>
public sealed record RetentionPlan(IReadOnlyList<BackupEntry> Keep, IReadOnlyList<BackupEntry> Delete)
{
    /// <summary>Plans retention for <paramref name="entries"/> at <paramref name="now"/>.</summary>
    public static RetentionPlan For(IReadOnlyList<BackupEntry> entries, DateTimeOffset now, int keepDays, int keepAtLeast)
    {
        var (keep, delete) = Split(entries, e => e.Created, e => e.LooksGood, now, keepDays, keepAtLeast);
        return new RetentionPlan(keep, delete);
    }

    /// <summary>The same rule for any kind of copy (local files, offsite objects): what to keep and what to delete, newest first.</summary>
    internal static (List<T> Keep, List<T> Delete) Split<T>(IReadOnlyList<T> items, Func<T, DateTimeOffset> created, Func<T, bool> good, DateTimeOffset now, int keepDays, int keepAtLeast)
        where T : notnull
    {
        var cutoff = now - TimeSpan.FromDays(keepDays);
        var newestFirst = items.OrderByDescending(created).ToList();

        // Prefer copies known to be good; if too few are, protect the newest others too rather than none.
        var protectedOnes = newestFirst.Where(good).Take(keepAtLeast).ToHashSet();
        foreach (var item in newestFirst.Where(i => !good(i)))
        {
            if (protectedOnes.Count >= keepAtLeast)
            {
                break;
            }

            protectedOnes.Add(item);
        }

        var keep = newestFirst.Where(i => created(i) >= cutoff || protectedOnes.Contains(i)).ToList();
        var delete = newestFirst.Where(i => !keep.Contains(i)).ToList();
        return (keep, delete);
    }
}

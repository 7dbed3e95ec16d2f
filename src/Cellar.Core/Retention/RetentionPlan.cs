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
        var cutoff = now - TimeSpan.FromDays(keepDays);
        var newestFirst = entries.OrderByDescending(e => e.Created).ToList();

        // Prefer backups known to be good; if too few are, protect the newest others too rather than none.
        var protectedOnes = newestFirst.Where(e => e.LooksGood).Take(keepAtLeast).ToHashSet();
        foreach (var entry in newestFirst.Where(e => !e.LooksGood))
        {
            if (protectedOnes.Count >= keepAtLeast)
            {
                break;
            }

            protectedOnes.Add(entry);
        }

        var keep = newestFirst.Where(e => e.Created >= cutoff || protectedOnes.Contains(e)).ToList();
        var delete = newestFirst.Where(e => !keep.Contains(e)).ToList();
        return new RetentionPlan(keep, delete);
    }
}

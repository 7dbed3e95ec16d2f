using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Retention;

/// <summary>
/// Applies a job's retention: each delete stands alone, so one failure is reported and the run goes on; a backup
/// <paramref name="hold"/> says is still waited for is kept.
/// </summary>
public sealed partial class Pruner(TimeProvider time, IRetentionHold hold, ILogger<Pruner> logger)
{
    /// <summary>Prunes <paramref name="job"/>; with <paramref name="dryRun"/> only reports what it would delete.</summary>
    public PruneResult Prune(JobConfig job, TimeZoneInfo zone, bool dryRun)
    {
        var now = time.GetUtcNow();
        var plan = RetentionPlan.For(BackupCatalog.List(job, zone), now, job.KeepDays, job.KeepAtLeast);
        var deleted = new List<BackupEntry>();
        var held = new List<BackupEntry>();
        var failures = new List<string>();
        var unconfirmed = job.Database.Offsite.Count > 0 && plan.Delete.Count > 0 ? Unconfirmed(job, zone, now) : null;
        foreach (var entry in plan.Delete)
        {
            // A backup whose offsite copy is not confirmed yet may be the only copy there will ever be.
            if (unconfirmed?.Invoke(entry) is { Count: > 0 } waiting)
            {
                held.Add(entry);
                LogHeld(logger, job.Name, entry.Path, string.Join(", ", waiting));
                continue;
            }

            if (dryRun)
            {
                deleted.Add(entry);
                continue;
            }

            try
            {
                File.Delete(entry.Path);
                File.Delete(Sidecar.PathFor(entry.Path));
                deleted.Add(entry);
                LogDeleted(logger, job.Name, entry.Path, entry.Created);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures.Add($"{entry.Path}: {e.Message}");
                LogDeleteFailed(logger, job.Name, entry.Path, e.Message);
            }
        }

        return new PruneResult(job.Name, [.. plan.Keep, .. held], deleted, failures, dryRun);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "prune {Job}: deleted {Path} (created {Created:u})")]
    private static partial void LogDeleted(ILogger logger, string job, string path, DateTimeOffset created);

    /// <summary>The destinations still waiting for a backup; all of them, for every backup, when a ledger cannot be read.</summary>
    private Func<BackupEntry, IReadOnlyList<string>> Unconfirmed(JobConfig job, TimeZoneInfo zone, DateTimeOffset now)
    {
        try
        {
            var waiting = hold.Waiting(job, zone, now);
            return entry => waiting.TryGetValue(entry.Path, out var names) ? names : [];
        }
        catch (CellarException e)
        {
            IReadOnlyList<string> all = [.. job.Database.Offsite.Select(o => $"{o.Name} (unknown: {e.Message})")];
            return _ => all;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "prune {Job}: kept {Path} past its keepDays: its copy at {Destinations} is not confirmed yet")]
    private static partial void LogHeld(ILogger logger, string job, string path, string destinations);

    [LoggerMessage(Level = LogLevel.Warning, Message = "prune {Job}: could not delete {Path}: {Error}")]
    private static partial void LogDeleteFailed(ILogger logger, string job, string path, string error);
}

/// <summary>What a prune did.</summary>
public sealed record PruneResult(string Job, IReadOnlyList<BackupEntry> Kept, IReadOnlyList<BackupEntry> Deleted, IReadOnlyList<string> Failures, bool DryRun);

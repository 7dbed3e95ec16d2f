using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Cellar.Core.Status;

namespace Cellar.Daemon;

/// <summary>
/// <c>GET /api/admin/backup-status</c>: every job's status and an overall <c>healthy</c> flag with the reasons when
/// it is false: a scheduled backup job whose newest backup is older than its period plus two hours, a last run
/// that failed, a stored backup that failed a check, a backup that has waited more than 26 hours for its full check
/// (a day's verify pass missed, or the checks cannot keep up), a backup volume with less than 10% free, or a backup
/// not confirmed offsite for 6 hours.
/// </summary>
internal static class BackupHealth
{
    private static readonly TimeSpan Slack = TimeSpan.FromHours(2);
    private const double MinFreeShare = 0.10;

    /// <summary>The daily verify pass gives every backup its full check within a day; longer means it is not running.</summary>
    private static readonly TimeSpan FullCheckSlack = TimeSpan.FromHours(26);

    /// <summary>A backup still not offsite after this long means uploads are failing, not merely queued.</summary>
    private static readonly TimeSpan OffsiteSlack = TimeSpan.FromHours(6);

    /// <summary>A stream's transactions still not offsite after this long (they go every 0.8 s) mean its uploads are failing.</summary>
    private static readonly TimeSpan StreamOffsiteSlack = TimeSpan.FromMinutes(5);

    public static StatusAnswer Of(CellarConfig config, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var jobs = new List<JobAnswer>();
        var reasons = new List<string>();
        foreach (var job in config.Jobs)
        {
            var status = JobStatus.Of(job, config, time);
            var own = new List<string>();
            IReadOnlyList<WindowAnswer>? windows = null;
            IReadOnlyList<ReachAnswer>? reaches = null;
            void Say(string reason)
            {
                reasons.Add(reason);
                own.Add(reason);
            }

            if (status.LastFailure is { } failed && (status.Newest is null || failed > status.Newest.Created))
            {
                Say($"job {status.Job}: last run failed: {status.LastFailureMessage}");
            }

            foreach (var bad in status.FailedVerification)
            {
                Say($"job {status.Job}: backup {bad.Name} {bad.Problem}");
            }

            if (status.LongestFullCheckWait > FullCheckSlack)
            {
                Say($"job {status.Job}: {status.AwaitingFullCheck.Count} backup(s) waiting for their full check, the oldest for {status.LongestFullCheckWait.Value.TotalHours:0} h (cellar verify)");
            }

            if (job is StreamJob stream)
            {
                // Its schedule is when it takes bases; what counts is that the stream exists (its lag is on /metrics).
                var generations = StreamCatalog.List(stream);
                windows = [.. generations.Select(g => new WindowAnswer(g.Id, g.From, g.To))];
                if (generations.Count == 0)
                {
                    Say($"job {status.Job}: nothing streamed yet");
                }

                var reach = StreamOffsiteReach.Of(stream);
                reaches = [.. reach.Select(r => new ReachAnswer(r.Destination, r.Confirmed, (now - r.OldestPending)?.TotalSeconds))];
                foreach (var behind in reach.Where(r => now - r.OldestPending > StreamOffsiteSlack))
                {
                    Say($"offsite {behind.Destination} (stream {stream.Name}): transactions waiting for {(now - behind.OldestPending!.Value).TotalMinutes:0} min");
                }
            }
            else if (job.Type != JobType.Rotate && job.Schedule?.GetNextOccurrence(now, config.TimeZone) is { } next
                && job.Schedule.GetNextOccurrence(next, config.TimeZone) is { } after
                && (status.Newest is null || now - status.Newest.Created > (after - next) + Slack))
            {
                Say(status.Newest is null
                    ? $"job {status.Job}: no backup yet"
                    : $"job {status.Job}: newest backup is {(now - status.Newest.Created).TotalHours:0.#} h old (expected every {(after - next).TotalHours:0.#} h)");
            }

            jobs.Add(new JobAnswer(
                status.Job,
                job.Database.Name,
                status.Type.ToString().ToLowerInvariant(),
                status.Newest is null ? null : BackupAnswer.Of(status.Newest),
                status.NewestAge?.TotalSeconds,
                status.Count,
                status.TotalBytes,
                status.NextRun,
                status.LastFailure,
                status.LastFailureMessage,
                status.AwaitingFullCheck.Count,
                status.LongestFullCheckWait?.TotalSeconds,
                own,
                [.. job.Database.Offsite.Where(o => o.Takes(job)).Select(o => o.Name)],
                windows,
                reaches));
        }

        var disks = config.Databases.Select(d => d.BackupRoot).Distinct().Select(root =>
        {
            var drive = new DriveInfo(Directory.Exists(root) ? root : Path.GetPathRoot(root)!);
            var share = drive.TotalSize == 0 ? 1 : (double)drive.AvailableFreeSpace / drive.TotalSize;
            if (share < MinFreeShare)
            {
                reasons.Add($"backup volume of {root} has {share:P0} free");
            }

            return new DiskAnswer(root, drive.AvailableFreeSpace, drive.TotalSize);
        }).ToList();

        var offsite = new OffsiteSync(config, time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Lag().Select(lag =>
        {
            var age = now - lag.OldestPending;
            if (lag.Problem is { } problem)
            {
                reasons.Add($"offsite {lag.Destination} ({lag.Database}): {problem}");
            }
            else if (age > OffsiteSlack)
            {
                reasons.Add($"offsite {lag.Destination} ({lag.Database}): {lag.Pending} backup(s) not confirmed, the oldest for {age.Value.TotalHours:0.#} h");
            }

            return new OffsiteAnswer(lag.Database, lag.Destination, lag.Pending, age?.TotalSeconds);
        }).ToList();

        return new StatusAnswer(reasons.Count == 0, reasons, disks, jobs, offsite);
    }
}

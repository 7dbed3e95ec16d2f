using Cellar.Core.Configuration;
using Cellar.Core.Status;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Scheduling;

/// <summary>
/// Runs the configured jobs on their cron schedules in the configured time zone (Cronos: a time skipped by a DST
/// change fires at the change, a repeated one fires once), catches up once on start for a job whose last
/// scheduled occurrence was missed while the daemon was down, and hands every run to a <see cref="JobDispatcher"/>,
/// which never lets two runs of one database overlap.
/// </summary>
public sealed partial class JobScheduler(CellarConfig config, JobDispatcher queue, TimeProvider time, ILogger<JobScheduler> logger)
{
    // How far back a missed occurrence is looked for: a yearly job's.
    private static readonly TimeSpan CatchUpHorizon = TimeSpan.FromDays(366);

    private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes whenever the scheduler has nothing to do until the clock moves: lets tests advance a fake clock safely.</summary>
    internal Task Waiting => Volatile.Read(ref _waiting).Task;

    /// <summary>Schedules until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var zone = config.TimeZone;
        var jobs = config.Jobs.Where(j => j.Schedule is not null).ToList();
        var now = time.GetUtcNow();
        foreach (var job in jobs.Where(j => j.CatchUp && Missed(j, now)))
        {
            var name = job.QualifiedName(config);
            LogCatchUp(logger, name);
            queue.Enqueue(job, tag: null, out _);
        }

        var next = jobs.ToDictionary(j => j, j => j.Schedule!.GetNextOccurrence(now, zone));
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = next.Where(n => n.Value is not null).OrderBy(n => n.Value).Select(n => (Job: n.Key, At: n.Value!.Value)).FirstOrDefault();
            var wait = due.Job is null ? Timeout.InfiniteTimeSpan : Max(TimeSpan.Zero, due.At - time.GetUtcNow());
            var delay = Task.Delay(wait, time, cancellationToken);
            Interlocked.Exchange(ref _waiting, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            try
            {
                await delay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Every job due by now fires once; the next occurrence is counted from this one, so a late wake-up never fires twice.
            var fireTime = time.GetUtcNow();
            foreach (var (job, at) in next.Where(n => n.Value <= fireTime).Select(n => (n.Key, n.Value!.Value)).ToList())
            {
                queue.Enqueue(job, tag: null, out _);
                next[job] = job.Schedule!.GetNextOccurrence(at, zone);
            }
        }
    }

    /// <summary>True when the job's latest scheduled occurrence at or before <paramref name="now"/> came after its last recorded run.</summary>
    internal bool Missed(JobConfig job, DateTimeOffset now)
    {
        var lastRun = JobState.Read(job.Folder).LastRun;
        if (lastRun is null)
        {
            return false; // a job that never ran here (a fresh install) starts with its schedule
        }

        var latest = job.Schedule!.GetOccurrences(now - CatchUpHorizon, now, config.TimeZone, fromInclusive: true, toInclusive: true).Cast<DateTimeOffset?>().LastOrDefault();
        return latest is { } due && due > lastRun;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: its last scheduled run was missed while Cellar was down; running it once now")]
    private static partial void LogCatchUp(ILogger logger, string job);
}

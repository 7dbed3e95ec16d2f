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

    private long _fired; // written by the scheduling loop only, read through _idle
    private Pass? _idle;

    /// <summary>
    /// What the scheduler had done when it last went back to waiting (null before it first does). A test that moves a
    /// fake clock waits for a pass whose wake-up lies beyond the new time: only then has the scheduler acted on the move,
    /// and a count that did not grow means it truly fired nothing.
    /// </summary>
    internal Pass? Idle => Volatile.Read(ref _idle);

    /// <summary>Schedules until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var zone = config.TimeZone;
        // A stream job's schedule is when its follower takes a new base, which the follower does itself.
        var jobs = config.Jobs.Where(j => j.Schedule is not null && j is not StreamJob).ToList();
        var now = time.GetUtcNow();
        foreach (var job in jobs.Where(j => j.CatchUp && Missed(j, now)))
        {
            var name = job.QualifiedName(config);
            LogCatchUp(logger, name);
            Fire(job);
        }

        var next = jobs.ToDictionary(j => j, j => j.Schedule!.GetNextOccurrence(now, zone));
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = next.Where(n => n.Value is not null).OrderBy(n => n.Value).Select(n => (Job: n.Key, At: n.Value!.Value)).FirstOrDefault();
            var wait = due.Job is null ? Timeout.InfiniteTimeSpan : Max(TimeSpan.Zero, due.At - time.GetUtcNow());
            var delay = Task.Delay(wait, time, cancellationToken);
            Volatile.Write(ref _idle, new Pass(_fired, due.Job is null ? null : due.At));
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
                Fire(job);
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

    private void Fire(JobConfig job)
    {
        queue.Enqueue(job, tag: null, out _);
        _fired++;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The scheduler between two wake-ups.</summary>
    /// <param name="Fired">Runs it has asked the queue for since it started, catch-ups included (a run asked for while the same one is still waiting folds into it).</param>
    /// <param name="WakeAt">When it wakes next; null when no job has another occurrence.</param>
    internal sealed record Pass(long Fired, DateTimeOffset? WakeAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: its last scheduled run was missed while Cellar was down; running it once now")]
    private static partial void LogCatchUp(ILogger logger, string job);
}

using Cellar.Core.Catalog;
using Cellar.Core.Configuration;

namespace Cellar.Core.Status;

/// <summary>What an operator wants to know about one job at a glance.</summary>
public sealed record JobStatus(
    string Job,
    JobType Type,
    string? Schedule,
    DateTimeOffset? NextRun,
    BackupEntry? Newest,
    TimeSpan? NewestAge,
    int Count,
    long TotalBytes,
    DateTimeOffset? LastFailure,
    string? LastFailureMessage,
    IReadOnlyList<string> LastRunNotes)
{
    /// <summary>Backups a check found bad since they were written (bit rot, tampering): never restored or counted as kept.</summary>
    public IReadOnlyList<BackupEntry> FailedVerification { get; init; } = [];

    /// <summary>Backups published after their quick proof whose full check has not passed yet, newest first.</summary>
    public IReadOnlyList<BackupEntry> AwaitingFullCheck { get; init; } = [];

    /// <summary>How long the oldest of <see cref="AwaitingFullCheck"/> has waited since it was made (null: none waits).</summary>
    public TimeSpan? LongestFullCheckWait { get; init; }

    /// <summary>The status of every job in <paramref name="config"/> at the current time, in the config's order.</summary>
    public static IReadOnlyList<JobStatus> All(CellarConfig config, TimeProvider time) => [.. config.Jobs.Select(job => Of(job, config, time))];

    /// <summary>The status of <paramref name="job"/> at the current time.</summary>
    public static JobStatus Of(JobConfig job, CellarConfig config, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var entries = BackupCatalog.List(job, config.TimeZone);
        var state = JobState.Read(job.Folder);
        var newest = entries.Count > 0 ? entries[0] : null;
        var next = job.Schedule?.GetNextOccurrence(now, config.TimeZone);
        return new JobStatus(
            job.QualifiedName(config), job.Type, job.ScheduleText, next, newest, newest is null ? null : now - newest.Created,
            entries.Count, entries.Sum(e => e.SizeBytes), state.LastFailure, state.LastFailureMessage, state.LastRunNotes ?? [])
        {
            FailedVerification = entries.Where(e => e.LastCheck is { Ok: false }).ToList(),
            AwaitingFullCheck = entries.Where(e => e.AwaitingFullCheck).ToList(),
            LongestFullCheckWait = entries.LastOrDefault(e => e.AwaitingFullCheck) is { } oldest ? now - oldest.Created : null,
        };
    }
}

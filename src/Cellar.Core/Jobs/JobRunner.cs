using Cellar.Core.Artifacts;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Cellar.Core.Progress;
using Cellar.Core.Retention;
using Cellar.Core.Status;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Jobs;

/// <summary>
/// Runs one job end to end under its folder's lock: sweep what a crashed run left, make the backup, record
/// the outcome, prune. The single entry point the CLI (and later the daemon) calls.
/// </summary>
public sealed partial class JobRunner(CellarConfig config, TimeProvider time, ILoggerFactory loggers)
{
    /// <summary>The category of a run's lines: backup.log, beside whatever else is logged about the job.</summary>
    private const string Category = "Cellar.Backup";

    private readonly ILogger _logger = loggers.CreateLogger(Category);
    private readonly Pruner _pruner = new(time, OffsiteHold.Instance, loggers.CreateLogger<Pruner>());
    private readonly InterruptedRuns _interrupted = new(time, loggers.CreateLogger(Category));

    /// <summary>Runs <paramref name="jobName"/> now (tests and tools that hold only a name); see <see cref="RunAsync(JobRequest, CancellationToken)"/>.</summary>
    public Task<JobOutcome> RunAsync(string jobName, string? tag, IProgress<JobProgress>? progress, CancellationToken cancellationToken) =>
        RunAsync(new JobRequest(config.FindJob(jobName), tag, progress), cancellationToken);

    /// <summary>
    /// Runs the job now, whatever its type: a snapshot backup, a table dump, or a rotation of its logs. Throws
    /// <see cref="CellarException"/> with a one-line reason on failure (recorded, and logged, by then).
    /// </summary>
    public async Task<JobOutcome> RunAsync(JobRequest request, CancellationToken cancellationToken)
    {
        var job = request.Job;
        var started = time.GetTimestamp();
        if (job is RotateJob rotation)
        {
            if (request.Tag is not null)
            {
                throw new ConfigException($"job '{job.Name}' rotates logs: its archives are named after their logs, and a tag does not apply");
            }

            var rotator = new LogRotator(time, config.TimeZone, loggers.CreateLogger<LogRotator>());
            var (logs, rotationPruned) = await UnderLockAsync(job, () => rotator.RotateAsync(rotation, cancellationToken), cancellationToken, logs => [.. logs.Select(l => l.Describe())]).ConfigureAwait(false);
            return new JobOutcome
            {
                Job = job,
                Files = [.. logs.Where(l => l.Archive is not null && l.ArchiveSidecar is not null).Select(l => new StoredFile(l.Archive!, l.ArchiveSidecar!))],
                Logs = logs,
                Duration = time.GetElapsedTime(started),
                Prune = rotationPruned.Result,
                Warnings = [.. logs.Select(l => l.Warning).OfType<string>(), .. rotationPruned.Warnings],
            };
        }

        if (job is StreamJob stream)
        {
            if (request.Tag is not null)
            {
                throw new ConfigException($"job '{job.Name}' streams the WAL: its files are named by generation and transaction, and a tag does not apply");
            }

            // The offsite pass under the folder's lock too: a daemon following the job copies it itself, and two
            // passes would race on the destination's stream ledger.
            var streamer = new StreamRunner(time, config.TimeZone, loggers);
            var uploader = new StreamUploader(config, time, loggers);
            var ((pass, offsiteFailed), streamPruned) = await UnderLockAsync(
                job,
                async () => (await streamer.CatchUpAsync(stream, cancellationToken).ConfigureAwait(false), await uploader.PassAsync(stream, cancellationToken).ConfigureAwait(false)),
                cancellationToken,
                result => [result.Item1.Describe()]).ConfigureAwait(false);
            return new JobOutcome { Job = job, Stream = pass with { OffsiteFailure = offsiteFailed }, Duration = time.GetElapsedTime(started), Prune = streamPruned.Result, Warnings = streamPruned.Warnings };
        }

        if (request.Tag is { } tag && Slug.Problem(tag) is { } problem)
        {
            throw new ConfigException($"job '{job.Name}': {problem}");
        }

        if (request.Tag is null && job.FileName.HasTag)
        {
            throw new ConfigException($"job '{job.Name}' puts a tag in its file names; give one with --tag");
        }

        var ((path, sidecar), pruned) = await UnderLockAsync(job, () => StoreAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        LogSucceeded(_logger, job.Name, path, sidecar.SizeBytes, sidecar.DurationMs);
        if (sidecar.WritersHeldOffMs is { } held)
        {
            LogHeldOff(_logger, job.Name, held);
        }

        return new JobOutcome
        {
            Job = job,
            Tag = request.Tag,
            Files = [new StoredFile(path, sidecar)],
            Duration = time.GetElapsedTime(started),
            Prune = pruned.Result,
            Warnings = pruned.Warnings,
        };
    }

    /// <summary>The job's snapshot or dump, through the one path every artifact takes to its final name.</summary>
    private async Task<(string Path, Sidecar Sidecar)> StoreAsync(JobRequest request, CancellationToken cancellationToken)
    {
        await using var source = ArtifactKinds.SourceFor(request.Job, time, _logger, request.Progress);
        return await new ArtifactWriter(time).WriteAsync(request.Job, config.TimeZone, request.Tag, source, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="work"/> under the job folder's lock, after sweeping what a killed run left; a failure is
    /// recorded (under the lock, so a concurrent run's sweep or record cannot interleave) and becomes one line. Retention
    /// runs under the same lock, as <c>cellar prune</c> does: a prune outside it could delete beside a concurrent run
    /// that is sweeping, listing or publishing in the folder.
    /// </summary>
    private async Task<(T Result, Pruned Pruned)> UnderLockAsync<T>(JobConfig job, Func<Task<T>> work, CancellationToken cancellationToken, Func<T, IReadOnlyList<string>>? notes = null)
    {
        LogStarted(_logger, job.Name, job is RotateJob rotation ? string.Join(", ", rotation.Paths) : job.Database.Path);
        FolderLock folderLock;
        try
        {
            folderLock = await LockFolderAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogCancelled(_logger, job.Name);
            throw;
        }
        catch (Exception e)
        {
            throw Failed(e, job);
        }

        using (folderLock)
        {
            T result;
            try
            {
                _interrupted.Settle(job);
                JobState.MarkRunning(job.Folder, time.GetUtcNow(), Environment.ProcessId);
                result = await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ClearRunning(job);
                LogCancelled(_logger, job.Name);
                throw;
            }
            catch (Exception e)
            {
                throw Failed(e, job);
            }

            try
            {
                JobState.Record(job.Folder, time.GetUtcNow(), failure: null, notes?.Invoke(result));
            }
            catch (SyncFailedException e)
            {
                // The backup is published, but the disk failed the record of it: a failed run, said as such (and the
                // run mark goes with the failure's record), never a run taken for killed next time.
                throw Failed(e, job);
            }

            CrashPoint.Reach(CrashPoint.PruneStart, CancellationToken.None);
            return (result, Prune(job));
        }
    }

    /// <summary>
    /// What the daemon does for every job as it starts: a run it was killed in (SIGKILL, OOM, power loss) is recorded
    /// as failed and what it left is swept, before anything is scheduled. A stream job's folder is its follower's for as
    /// long as the daemon runs, so it is not waited for here.
    /// </summary>
    public Task RecoverAsync(CancellationToken cancellationToken) => _interrupted.RecoverAsync([.. config.Jobs.Where(j => j is not StreamJob)], cancellationToken);

    /// <summary>A run stopped cleanly (cancelled) has nothing to record; its mark goes, quietly, whatever the disk says.</summary>
    private void ClearRunning(JobConfig job)
    {
        try
        {
            JobState.ClearRunning(job.Folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CellarException)
        {
            LogSweepFailed(_logger, job.Name, job.Folder, e.Message);
        }
    }

    /// <summary>The backup is committed by now: a retention problem is reported, never turned into a failed run.</summary>
    private Pruned Prune(JobConfig job)
    {
        try
        {
            var result = _pruner.Prune(job, config.TimeZone, dryRun: false);
            return new Pruned(result, result.Failures);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            LogPruneFailed(_logger, job.Name, e.Message);
            return new Pruned(null, [$"backup kept, but pruning failed: {e.Message}"]);
        }
    }

    /// <summary>What retention did, or null when it could not run; and what of it an operator should read.</summary>
    private sealed record Pruned(PruneResult? Result, IReadOnlyList<string> Warnings);

    private CellarException Failed(Exception e, JobConfig job)
    {
        var message = Describe(e, job);
        LogFailed(_logger, job.Name, message);
        try
        {
            JobState.Record(job.Folder, time.GetUtcNow(), message);
        }
        catch (SyncFailedException)
        {
            // The disk failed the record too; the run's own error is the one to report.
        }

        return new CellarException(message, e);
    }

    private async Task<FolderLock> LockFolderAsync(JobConfig job, CancellationToken cancellationToken)
    {
        SecureFiles.EnsureFolder(job.Folder);
        SecureFiles.WarnIfOthersCanWrite(job.Folder, warning => LogFolderWarning(_logger, job.Name, warning));
        return await FolderLock.AcquireAsync(job.Folder, time, cancellationToken, job is StreamJob ? StreamRunner.LockWait : null, _logger).ConfigureAwait(false);
    }

    /// <summary>One line an operator can act on, whatever failed.</summary>
    internal static string Describe(Exception e, JobConfig job) => e switch
    {
        CellarException c => c.Message,
        UnauthorizedAccessException => $"backup folder {job.Folder} is not writable: permission denied",
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.Ordinal) => $"no space left on the device of {job.Folder}; existing backups are untouched",
        IOException io when io.HResult == 30 || io.Message.Contains("Read-only file system", StringComparison.Ordinal) => $"backup folder {job.Folder} is on a read-only file system",
        IOException io => $"I/O error in {job.Folder}: {io.Message}",
        SqliteException { SqliteErrorCode: 13 } => $"no space left on the device of {job.Folder}; existing backups are untouched",
        SqliteException s => $"database {job.Database.Path}: {s.Message}",
        _ when FileTooLarge.Is(e) => $"{FileTooLarge.Said}, writing in {job.Folder}; nothing was kept",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: started, database {Database}")]
    private static partial void LogStarted(ILogger logger, string job, string database);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: wrote {Path} ({Bytes} bytes, {DurationMs} ms, verified)")]
    private static partial void LogSucceeded(ILogger logger, string job, string path, long bytes, long durationMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: the app's writers were held off for {HeldMs} ms while the snapshot was taken")]
    private static partial void LogHeldOff(ILogger logger, string job, long heldMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "job {Job}: failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string job, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: backup kept, but pruning failed: {Error}")]
    private static partial void LogPruneFailed(ILogger logger, string job, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: stopped before it finished (cancelled); what it was writing is removed, nothing is kept")]
    private static partial void LogCancelled(ILogger logger, string job);

    [LoggerMessage(EventId = 901, EventName = SecureFiles.OthersCanWriteEventName, Level = LogLevel.Warning, Message = "job {Job}: {Warning}")]
    private static partial void LogFolderWarning(ILogger logger, string job, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: could not remove leftover {Path}: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string job, string path, string error);
}

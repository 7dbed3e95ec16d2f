using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Status;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Jobs;

/// <summary>
/// What a run that was killed (SIGKILL, OOM, power loss) leaves in its job's folder, and how the next one to hold the
/// folder's lock settles it: the run is recorded as failed, its temp files and orphaned sidecars are removed.
/// </summary>
internal sealed partial class InterruptedRuns(TimeProvider time, ILogger logger)
{
    /// <summary>Settles what a killed run left in <paramref name="job"/>'s folder. Only under the folder's lock.</summary>
    public void Settle(JobConfig job)
    {
        RecordInterrupted(job);
        Sweep(job);
    }

    /// <summary>
    /// What the daemon does for every job as it starts: a run it was killed in (SIGKILL, OOM, power loss) is recorded
    /// as failed and what it left is swept, before anything is scheduled. A folder another process is working in is
    /// left to that process.
    /// </summary>
    public async Task RecoverAsync(IEnumerable<JobConfig> jobs, CancellationToken cancellationToken)
    {
        foreach (var job in jobs.Where(j => Directory.Exists(j.Folder)))
        {
            using var folderLock = await TryLockForRecoveryAsync(job, cancellationToken).ConfigureAwait(false);
            if (folderLock is null)
            {
                continue;
            }

            try
            {
                Settle(job);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CellarException)
            {
                LogRecoverySkipped(logger, job.Name, e.Message);
            }
        }
    }

    /// <summary>The folder's lock if it is free now; null (and said) when another process works there or it cannot be taken.</summary>
    private async Task<FolderLock?> TryLockForRecoveryAsync(JobConfig job, CancellationToken cancellationToken)
    {
        try
        {
            return await FolderLock.AcquireAsync(job.Folder, time, cancellationToken, TimeSpan.Zero).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CellarException or IOException or UnauthorizedAccessException)
        {
            LogRecoverySkipped(logger, job.Name, e.Message);
            return null;
        }
    }

    /// <summary>
    /// A run mark found by a run that holds the folder's lock belongs to a run that died without recording anything:
    /// it becomes that run's failure, so status, health and backup.log tell of it instead of forgetting it.
    /// </summary>
    private void RecordInterrupted(JobConfig job)
    {
        if (JobState.Read(job.Folder).Running is not { } mark)
        {
            return;
        }

        var message = $"interrupted: the run started at {mark.Started:yyyy-MM-dd HH:mm:ss}Z by pid {mark.Pid} never finished (the process was killed or the machine stopped)";
        LogFailed(logger, job.Name, message);
        JobState.Record(job.Folder, mark.Started, message);
    }

    /// <summary>
    /// Removes what a killed run left: temp files, and sidecars whose backup never got its final name.
    /// Safe only under the folder lock, which no live run of this folder can be without.
    /// </summary>
    private void Sweep(JobConfig job)
    {
        foreach (var file in new DirectoryInfo(job.Folder).EnumerateFiles())
        {
            var orphanSidecar = file.Name.EndsWith(Sidecar.Suffix, StringComparison.Ordinal)
                && job.FileName.TryMatch(file.Name[..^Sidecar.Suffix.Length], out _, out _)
                && !File.Exists(file.FullName[..^Sidecar.Suffix.Length]);
            if (!orphanSidecar && !TempFile.IsTempName(file.Name))
            {
                continue;
            }

            try
            {
                file.Delete();
                LogSwept(logger, job.Name, file.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(logger, job.Name, file.FullName, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "job {Job}: failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string job, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: not checked for what a killed run left: {Error}")]
    private static partial void LogRecoverySkipped(ILogger logger, string job, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {Job}: removed leftover {Path}")]
    private static partial void LogSwept(ILogger logger, string job, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: could not remove leftover {Path}: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string job, string path, string error);
}

using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// What <c>GET /metrics</c> reports per job (last success time, duration and size, runs and failures) and per
/// backup volume (free bytes), in Prometheus text format next to the runtime's own process metrics.
/// </summary>
internal static class JobMetrics
{
    private static readonly Gauge LastSuccess = Metrics.CreateGauge("cellar_job_last_success_timestamp_seconds", "Unix time of the job's last successful run.", "job");
    private static readonly Gauge LastDuration = Metrics.CreateGauge("cellar_job_last_duration_seconds", "How long the job's last successful run took.", "job");
    private static readonly Gauge LastSize = Metrics.CreateGauge("cellar_job_last_size_bytes", "Size of the file the job's last successful run wrote.", "job");
    private static readonly Counter Runs = Metrics.CreateCounter("cellar_job_runs_total", "Runs of the job, successful or not.", "job");
    private static readonly Counter Failures = Metrics.CreateCounter("cellar_job_failures_total", "Failed runs of the job.", "job");
    private static readonly Gauge DiskFree = Metrics.CreateGauge("cellar_backup_disk_free_bytes", "Free bytes on the volume of a backup root.", "backup_root");
    private static readonly Gauge FailedChecks = Metrics.CreateGauge("cellar_backups_failed_verification", "Stored backups of the job that a check found bad since they were written.", "job");

    /// <summary>Wraps the dispatcher's run function so every run is counted.</summary>
    public static Func<JobConfig, string?, CancellationToken, Task<string?>> Counted(CellarConfig config, TimeProvider time, Func<JobConfig, string?, CancellationToken, Task<string?>> run) =>
        async (job, tag, cancellationToken) =>
        {
            var name = job.QualifiedName(config);
            var started = time.GetTimestamp();
            Runs.WithLabels(name).Inc();
            try
            {
                var file = await run(job, tag, cancellationToken).ConfigureAwait(false);
                LastSuccess.WithLabels(name).Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
                LastDuration.WithLabels(name).Set(time.GetElapsedTime(started).TotalSeconds);
                if (file is not null && File.Exists(file))
                {
                    LastSize.WithLabels(name).Set(new FileInfo(file).Length);
                }

                return file;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Failures.WithLabels(name).Inc();
                throw;
            }
        };

    // Every daemon app built in this process (tests build many) adds its roots and jobs here; one callback serves them all.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> WatchedRoots = new(StringComparer.Ordinal);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> WatchedJobs = new(StringComparer.Ordinal);
    private static readonly Lazy<bool> Callback = new(() =>
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);
        return true;
    });

    /// <summary>Refreshes the gauges of <paramref name="config"/>'s backup roots and job folders just before each scrape.</summary>
    public static void WatchDisks(CellarConfig config)
    {
        foreach (var root in config.Databases.Select(d => d.BackupRoot))
        {
            WatchedRoots.TryAdd(root, true);
        }

        foreach (var job in config.Jobs)
        {
            WatchedJobs.TryAdd(job.Folder, job.QualifiedName(config));
        }

        _ = Callback.Value;
    }

    private static void Refresh()
    {
        // One small file per job folder: the ledger of checks, counting the bad backups that are still there. Summed
        // per label, since apps built earlier in this process (tests) may have watched another folder under that name.
        foreach (var job in WatchedJobs.GroupBy(w => w.Value, w => w.Key))
        {
            FailedChecks.WithLabels(job.Key).Set(job.Sum(folder => CheckLedger.Read(folder).Count(r => !r.Value.Ok && File.Exists(Path.Combine(folder, r.Key)))));
        }

        foreach (var root in WatchedRoots.Keys)
        {
            try
            {
                DiskFree.WithLabels(root).Set(new DriveInfo(Directory.Exists(root) ? root : Path.GetPathRoot(root)!).AvailableFreeSpace);
            }
            catch (IOException)
            {
                // A backup root on a vanished mount: its gauge keeps its last value; /readyz says what is wrong.
            }
        }
    }
}

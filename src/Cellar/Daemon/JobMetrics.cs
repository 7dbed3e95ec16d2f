using Cellar.Core.Configuration;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// What <c>GET /metrics</c> reports of each job's runs (last success time, duration and size, runs and failures), in
/// Prometheus text format next to the runtime's own process metrics and <see cref="FolderMetrics"/>.
/// </summary>
internal static class JobMetrics
{
    private static readonly Gauge LastSuccess = Metrics.CreateGauge("cellar_job_last_success_timestamp_seconds", "Unix time of the job's last successful run.", "job");
    private static readonly Gauge LastDuration = Metrics.CreateGauge("cellar_job_last_duration_seconds", "How long the job's last successful run took.", "job");
    private static readonly Gauge LastSize = Metrics.CreateGauge("cellar_job_last_size_bytes", "Size of the file the job's last successful run wrote.", "job");
    private static readonly Counter Runs = Metrics.CreateCounter("cellar_job_runs_total", "Runs of the job, successful or not.", "job");
    private static readonly Counter Failures = Metrics.CreateCounter("cellar_job_failures_total", "Failed runs of the job.", "job");

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
}

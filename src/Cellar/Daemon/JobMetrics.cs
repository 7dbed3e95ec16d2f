using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// What <c>GET /metrics</c> reports of each job's runs (last success time, duration and size, runs and failures), in
/// Prometheus text format next to the runtime's own process metrics and <see cref="FolderMetrics"/>. A step of the
/// daemon's job pipeline, so every run is counted whoever asked for it.
/// </summary>
internal sealed class JobMetrics(CellarConfig config, TimeProvider time) : IJobStep
{
    private static readonly Gauge LastSuccess = Metrics.CreateGauge("cellar_job_last_success_timestamp_seconds", "Unix time of the job's last successful run.", "job");
    private static readonly Gauge LastDuration = Metrics.CreateGauge("cellar_job_last_duration_seconds", "How long the job's last successful run took.", "job");
    private static readonly Gauge LastSize = Metrics.CreateGauge("cellar_job_last_size_bytes", "Size of the file the job's last successful run wrote.", "job");
    private static readonly Counter Runs = Metrics.CreateCounter("cellar_job_runs_total", "Runs of the job, successful or not.", "job");
    private static readonly Counter Failures = Metrics.CreateCounter("cellar_job_failures_total", "Failed runs of the job.", "job");

    public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
    {
        var name = request.Job.QualifiedName(config);
        Runs.WithLabels(name).Inc();
        try
        {
            var outcome = await rest(request, cancellationToken).ConfigureAwait(false);
            LastSuccess.WithLabels(name).Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
            LastDuration.WithLabels(name).Set(outcome.Duration.TotalSeconds);
            if (outcome.Sidecar is { } sidecar)
            {
                LastSize.WithLabels(name).Set(sidecar.SizeBytes);
            }

            return outcome;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failures.WithLabels(name).Inc();
            throw;
        }
    }
}

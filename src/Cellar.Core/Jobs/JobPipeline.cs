namespace Cellar.Core.Jobs;

/// <summary>
/// The one way a job runs, from <c>cellar run</c>, the demo and the daemon alike: the steps each caller adds, outermost
/// first (the daemon's metrics and alerts, an offsite copy), around the <see cref="JobRunner"/>'s own sequence (lock
/// and sweep, produce, record, prune). Built once per caller; each step is a class of its own, tested alone.
/// </summary>
public sealed class JobPipeline
{
    private readonly JobContinuation _run;

    /// <summary>A pipeline that runs <paramref name="steps"/>, the first outermost, around <paramref name="runner"/>.</summary>
    public JobPipeline(JobRunner runner, params IReadOnlyList<IJobStep> steps)
    {
        JobContinuation run = runner.RunAsync;
        foreach (var step in steps.Reverse())
        {
            var next = run;
            run = (request, cancellationToken) => step.RunAsync(request, next, cancellationToken);
        }

        _run = run;
    }

    /// <summary>Runs the job through every step; throws <see cref="CellarException"/> with a one-line reason on failure.</summary>
    public Task<JobOutcome> RunAsync(JobRequest request, CancellationToken cancellationToken) => _run(request, cancellationToken);
}

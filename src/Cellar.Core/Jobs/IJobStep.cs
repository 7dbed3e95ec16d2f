namespace Cellar.Core.Jobs;

/// <summary>Runs what is left of a <see cref="JobPipeline"/> after a step: the next steps, then the run itself.</summary>
public delegate Task<JobOutcome> JobContinuation(JobRequest request, CancellationToken cancellationToken);

/// <summary>
/// One step of the <see cref="JobPipeline"/> around every run (as a Polly strategy wraps a call): it may act before the
/// run, after it on its <see cref="JobOutcome"/>, or on its failure, and calls <c>next</c> to go on.
/// </summary>
public interface IJobStep
{
    /// <summary>Does the step's work around <paramref name="rest"/>, which runs the later steps and the run itself.</summary>
    Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken);
}

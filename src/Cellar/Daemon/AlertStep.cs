using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>The daemon's pipeline step that sends each run's <see cref="Alerts"/>: the heartbeat on success, heartbeat <c>/fail</c> and webhook on failure.</summary>
internal sealed class AlertStep(CellarConfig config, TimeProvider time, ILogger logger) : IJobStep
{
    public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
    {
        JobOutcome outcome;
        try
        {
            outcome = await rest(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Alerts.FailedAsync(config, time, logger, request.Job, request.Tag, e.Message).ConfigureAwait(false);
            throw;
        }

        await Alerts.SucceededAsync(logger, request.Job).ConfigureAwait(false);
        return outcome;
    }
}

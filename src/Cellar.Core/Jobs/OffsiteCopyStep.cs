using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Jobs;

/// <summary>
/// A run's last step in <c>cellar run</c>: the database's new backups go to its offsite destinations at once. The backup
/// is safe on disk either way; an upload that fails stays queued for <c>cellar sync</c>, and the outcome says so.
/// (The daemon copies in the background instead, so an upload never delays the next run of the database.)
/// </summary>
internal sealed class OffsiteCopyStep(CellarConfig config, TimeProvider time, ILoggerFactory loggers) : IJobStep
{
    public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
    {
        var outcome = await rest(request, cancellationToken).ConfigureAwait(false);
        if (request.Job.Database.Offsite.Count == 0)
        {
            return outcome;
        }

        var sync = new OffsiteSync(config, time, loggers.CreateLogger<OffsiteSync>());
        return outcome with { Offsite = await sync.RunAsync(request.Job.Database, null, repair: false, cancellationToken).ConfigureAwait(false) };
    }
}

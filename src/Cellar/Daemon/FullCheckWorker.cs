using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Verification;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// Gives backups published after their quick proof their full check (<see cref="FullCheck.Deferred"/>) soon after the
/// run, once the machine is quiet (the one-minute load under half the cores), at the daemon's lowered CPU priority:
/// after every run of a job that defers it, and once at start for what an earlier daemon left waiting. The
/// daily verify pass checks whatever is still waiting then. A backup that fails is marked failed and alerted.
/// </summary>
internal sealed partial class FullCheckWorker(CellarConfig config, TimeProvider time, ILogger<FullCheckWorker> logger) : BackgroundService, IJobStep
{
    private static readonly TimeSpan QuietPoll = TimeSpan.FromSeconds(15);

    private readonly WakeUp _kick = new();

    public override void Dispose()
    {
        _kick.Dispose();
        base.Dispose();
    }

    /// <summary>How the worker tells the machine is quiet; tests say so at once.</summary>
    internal Func<bool> Quiet { get; init; } = SystemLoad.Quiet;

    /// <summary>The daemon's pipeline step: after a run of a job that defers its full check, a check soon.</summary>
    public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
    {
        var outcome = await rest(request, cancellationToken).ConfigureAwait(false);
        if (request.Job.FullCheck == FullCheck.Deferred)
        {
            _kick.Ask();
        }

        return outcome;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!config.Jobs.Any(j => j.FullCheck == FullCheck.Deferred))
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                while (!Quiet())
                {
                    await Task.Delay(QuietPoll, time, stoppingToken).ConfigureAwait(false);
                }

                try
                {
                    var sweep = await VerifySweep.FullChecksAsync(config, time, logger, stoppingToken).ConfigureAwait(false);
                    await Alerts.BadBackupsAsync(config, time, logger, sweep).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, e.Message);
                }

                await _kick.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is still waiting gets its check at the next start or in the daily pass.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "full checks: {Error}; the daily verify pass tries again")]
    private static partial void LogFailed(ILogger logger, string error);
}

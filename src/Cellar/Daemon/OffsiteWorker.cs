using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core.Offsite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// Copies backups offsite in the background, so an upload never delays the next backup of its database: a pass
/// after every successful run, every 5 minutes while a destination is failing, and hourly otherwise (for the
/// destinations' retention). Whatever a pass cannot upload stays pending on disk (see <see cref="OffsiteLedger"/>).
/// </summary>
internal sealed partial class OffsiteWorker(CellarConfig config, TimeProvider time, ILogger<OffsiteWorker> logger) : BackgroundService, IJobStep
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PassEvery = TimeSpan.FromHours(1);

    private readonly WakeUp _kick = new();

    public override void Dispose()
    {
        _kick.Dispose();
        base.Dispose();
    }

    /// <summary>The daemon's pipeline step after each successful run of a database with destinations: a pass, soon.</summary>
    public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
    {
        var outcome = await rest(request, cancellationToken).ConfigureAwait(false);
        if (request.Job.Database.Offsite.Count > 0)
        {
            _kick.Ask();
        }

        return outcome;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!config.Databases.Any(d => d.Offsite.Count > 0))
        {
            return;
        }

        await PassesAsync(stoppingToken).ConfigureAwait(false);
    }

    private async Task PassesAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var failed = true;
            try
            {
                // A new sync per pass loads the key again: a key file put in place after start is picked up.
                var sync = new OffsiteSync(config, time, logger);
                failed = (await sync.RunAsync(null, null, repair: false, stoppingToken).ConfigureAwait(false)).Any(r => r.Error is not null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPassFailed(logger, e.Message);
            }

            await NextPassAsync(failed ? RetryEvery : PassEvery, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task NextPassAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var kicked = _kick.WaitAsync(either.Token);
        var timer = Task.Delay(wait, time, either.Token);
        await Task.WhenAny(kicked, timer).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(kicked, timer).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loser (and, at shutdown, both) cancelled: expected.
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "offsite pass failed: {Error}; next attempt in 5 minutes")]
    private static partial void LogPassFailed(ILogger logger, string error);
}

using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// Copies backups offsite in the background, so an upload never delays the next backup of its database: a pass
/// after every successful run, every 5 minutes while a destination is failing, and hourly otherwise (for the
/// destinations' retention). Whatever a pass cannot upload stays pending on disk (see <see cref="OffsiteLedger"/>).
/// </summary>
internal sealed partial class OffsiteWorker(CellarConfig config, TimeProvider time, ILogger<OffsiteWorker> logger) : BackgroundService
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PassEvery = TimeSpan.FromHours(1);
    private static readonly Gauge Pending = Metrics.CreateGauge("cellar_offsite_pending_backups", "Verified backups not yet confirmed at the destination.", "database", "destination");
    private static readonly Gauge Lag = Metrics.CreateGauge("cellar_offsite_lag_seconds", "Age of the oldest backup not yet confirmed at the destination (0 when none).", "database", "destination");

    // The running workers (tests run many daemons in one process); the gauges are measured at each scrape, so the
    // lag keeps growing on /metrics even while a pass hangs on a dead connection.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<OffsiteWorker, bool> Running = new();
    private static readonly Lazy<bool> ScrapeCallback = new(() =>
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            foreach (var worker in Running.Keys)
            {
                worker.Measure();
            }
        });
        return true;
    });

    private readonly SemaphoreSlim _kick = new(0, 1);

    /// <summary>Asks for a pass now (after a run); kicks that arrive during a pass are folded into one more pass.</summary>
    public void Kick()
    {
        try
        {
            _kick.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    /// <summary>Wraps the dispatcher's run function so each successful run is followed by an offsite pass.</summary>
    public Func<JobConfig, string?, CancellationToken, Task<string?>> Kicking(Func<JobConfig, string?, CancellationToken, Task<string?>> run) =>
        async (job, tag, cancellationToken) =>
        {
            var file = await run(job, tag, cancellationToken).ConfigureAwait(false);
            if (job.Database.Offsite.Count > 0)
            {
                Kick();
            }

            return file;
        };

    /// <summary>Refreshes the lag gauges (from the backups on disk and the ledgers; no request to any destination).</summary>
    public void Measure()
    {
        var lags = new OffsiteSync(config, time, logger).Lag();
        var now = time.GetUtcNow();
        foreach (var lag in lags.Where(l => l.Problem is null))
        {
            Pending.WithLabels(lag.Database, lag.Destination).Set(lag.Pending);
            Lag.WithLabels(lag.Database, lag.Destination).Set(lag.OldestPending is { } oldest ? (now - oldest).TotalSeconds : 0);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!config.Databases.Any(d => d.Offsite.Count > 0))
        {
            return;
        }

        Running.TryAdd(this, true);
        _ = ScrapeCallback.Value;
        try
        {
            await PassesAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
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

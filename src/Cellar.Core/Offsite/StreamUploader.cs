using Cellar.Core.Configuration;
using Cellar.Core.Replication;
using Cellar.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Offsite;

/// <summary>
/// Copies stream jobs' history to their offsite destinations: for good beside the follower under the daemon (a pass per
/// destination every <see cref="StreamJob.OffsiteInterval"/>; a destination that is down is retried each interval and
/// caught up from the ledger when it is back), or one pass for <c>cellar run</c>. It reads only the job's folder, so a
/// slow or failing destination never holds up the follower.
/// </summary>
internal sealed partial class StreamUploader(CellarConfig config, TimeProvider time, ILoggerFactory loggers, Func<OffsiteDestination, IObjectStore>? open = null)
{
    /// <summary>How long a pass waits for the step it asked for (a few milliseconds, unless a base or checkpoint is under way).</summary>
    private static readonly TimeSpan StepPatience = TimeSpan.FromMilliseconds(200);

    private readonly ILogger _logger = loggers.CreateLogger<StreamUploader>();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Job, string Destination), StreamOffsiteState> _states = new();

    /// <summary>Where each stream stands at each destination, as of its last pass.</summary>
    public IReadOnlyCollection<StreamOffsiteState> States => [.. _states.Values];

    /// <summary>One pass to every destination that takes <paramref name="job"/>; returns the first failure's message, if any (the others still run).</summary>
    public async Task<string?> PassAsync(StreamJob job, CancellationToken cancellationToken)
    {
        string? failed = null;
        foreach (var destination in job.Database.Offsite.Where(d => d.Takes(job)))
        {
            using var store = Open(destination);
            try
            {
                await new StreamUpload(job, destination, store, OffsiteKey.Load(config), time, _logger).PassAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed ??= $"offsite {destination.Name}: {e.Message}";
            }
        }

        return failed;
    }

    /// <summary>
    /// Copies <paramref name="job"/>'s history to each of its destinations until <paramref name="cancellationToken"/> is
    /// cancelled, asking the job's follower through <paramref name="follower"/> (null: none) for a step before each pass.
    /// </summary>
    public Task RunAsync(StreamJob job, StreamWake? follower, CancellationToken cancellationToken) =>
        Task.WhenAll(job.Database.Offsite.Where(d => d.Takes(job)).Select(d => Task.Run(() => FollowAsync(job, d, follower, cancellationToken), CancellationToken.None)));

    private async Task FollowAsync(StreamJob job, OffsiteDestination destination, StreamWake? follower, CancellationToken cancellationToken)
    {
        using var store = Open(destination);
        var upload = new StreamUpload(job, destination, store, OffsiteKey.Load(config), time, _logger);
        string? lastError = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Passes start an interval apart, however long one takes: what the destination lacks at a crash is at
                // most an interval, a step and a PUT, and the request rate stays one an interval.
                var started = time.GetUtcNow();
                try
                {
                    if (follower is not null)
                    {
                        await follower.StepNowAsync(StepPatience, cancellationToken).ConfigureAwait(false);
                    }

                    await upload.PassAsync(cancellationToken).ConfigureAwait(false);
                    if (lastError is not null)
                    {
                        LogRecovered(_logger, job.Name, destination.Name);
                        lastError = null;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    if (e.Message != lastError)
                    {
                        LogFailed(_logger, job.Name, destination.Name, e.Message);
                        lastError = e.Message;
                    }
                }

                var ledger = upload.Ledger ?? StreamLedger.Load(job, destination).File;
                _states[(job.Name, destination.Name)] = new StreamOffsiteState(job.Name, destination.Name, ledger.Generation, ledger.Txid, ledger.Committed, upload.OldestPending, lastError);
                if (job.OffsiteInterval - (time.GetUtcNow() - started) is { Ticks: > 0 } rest)
                {
                    await Task.Delay(rest, time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: what is not confirmed yet goes on the next start, from the ledger.
        }
    }

    private IObjectStore Open(OffsiteDestination destination) => open is null ? OffsiteStores.Open(destination, _logger) : open(destination);

    [LoggerMessage(Level = LogLevel.Error, Message = "stream {Job}: offsite {Destination}: {Error}; retrying")]
    private static partial void LogFailed(ILogger logger, string job, string destination, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Job}: offsite {Destination} caught up again")]
    private static partial void LogRecovered(ILogger logger, string job, string destination);
}

/// <summary>Where a stream stands at one destination, for /metrics and status.</summary>
/// <param name="Job">The stream job.</param>
/// <param name="Destination">The destination.</param>
/// <param name="Generation">The generation being copied there.</param>
/// <param name="Txid">Its last transaction confirmed there.</param>
/// <param name="Committed">When that transaction committed.</param>
/// <param name="OldestPending">When the oldest transaction not yet confirmed there committed (null: none waiting).</param>
/// <param name="LastError">What failed at the last pass, until one succeeds again.</param>
public sealed record StreamOffsiteState(string Job, string Destination, string? Generation, long Txid, DateTimeOffset? Committed, DateTimeOffset? OldestPending, string? LastError);

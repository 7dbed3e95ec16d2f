using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// Each stream job on <c>GET /metrics</c>, from its follower's last step: how far behind it may be (seconds since it
/// last had everything committed shipped: a quarter of a second on a healthy stream, growing while it fails), the WAL's
/// size, the last transaction shipped and when, and whether its last step failed; and per offsite destination, how old
/// the oldest transaction not yet confirmed there is, and whether the last copy failed.
/// </summary>
internal static class StreamMetrics
{
    private static readonly Gauge Lag = Metrics.CreateGauge("cellar_stream_lag_seconds", "Seconds since the stream last had every committed transaction shipped.", "job");
    private static readonly Gauge WalBytes = Metrics.CreateGauge("cellar_stream_wal_bytes", "Size of the database's -wal file at the stream's last step.", "job");
    private static readonly Gauge Transaction = Metrics.CreateGauge("cellar_stream_last_transaction", "Number of the last transaction shipped in the current generation.", "job");
    private static readonly Gauge Shipped = Metrics.CreateGauge("cellar_stream_last_shipped_timestamp_seconds", "Unix time the stream last shipped a transaction.", "job");
    private static readonly Gauge Failing = Metrics.CreateGauge("cellar_stream_failing", "1 while the stream's last step failed.", "job");
    private static readonly Gauge OffsiteLag = Metrics.CreateGauge("cellar_stream_offsite_lag_seconds", "Age of the oldest transaction the destination does not hold yet (0: it holds everything).", "job", "destination");
    private static readonly Gauge OffsiteFailing = Metrics.CreateGauge("cellar_stream_offsite_failing", "1 while the last copy to the destination failed.", "job", "destination");

    // Every daemon app in this process (tests run many); one callback serves them all.
    private static readonly ConcurrentDictionary<(StreamService Service, TimeProvider Time), bool> Live = new();
    private static readonly Lazy<bool> Callback = new(() =>
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);
        return true;
    });

    /// <summary>Reports <paramref name="service"/>'s streams for as long as <paramref name="app"/> runs.</summary>
    public static void Watch(WebApplication app, StreamService service, TimeProvider time)
    {
        Live.TryAdd((service, time), true);
        app.Lifetime.ApplicationStopped.Register(() => Live.TryRemove((service, time), out _));
        _ = Callback.Value;
    }

    private static void Refresh()
    {
        foreach (var (service, time) in Live.Keys)
        {
            var now = time.GetUtcNow();
            foreach (var state in service.States)
            {
                Lag.WithLabels(state.Job).Set(state.CaughtUp is { } caught ? Math.Max(0, (now - caught).TotalSeconds) : double.NaN);
                WalBytes.WithLabels(state.Job).Set(state.WalBytes);
                Transaction.WithLabels(state.Job).Set(state.Txid);
                Shipped.WithLabels(state.Job).Set(state.LastShipped?.ToUnixTimeMilliseconds() / 1000.0 ?? double.NaN);
                Failing.WithLabels(state.Job).Set(state.LastError is null ? 0 : 1);
            }

            foreach (var offsite in service.Offsite)
            {
                OffsiteLag.WithLabels(offsite.Job, offsite.Destination).Set(offsite.OldestPending is { } since ? Math.Max(0, (now - since).TotalSeconds) : 0);
                OffsiteFailing.WithLabels(offsite.Job, offsite.Destination).Set(offsite.LastError is null ? 0 : 1);
            }
        }
    }
}

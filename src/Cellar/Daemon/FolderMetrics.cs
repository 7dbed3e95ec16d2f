using System.Collections.Concurrent;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// What <c>GET /metrics</c> reads from disk: per job, the stored backups a check found bad and those waiting for their
/// full check (with when the oldest was made); per offsite destination,
/// the backups not yet confirmed there and the oldest one's age; per backup volume, the free bytes. Finding the first
/// two reads every job folder and ledger, so that reading is kept and repeated only when one of those folders changed
/// (one stat each per scrape: every file Cellar writes there is renamed in, which changes the folder) or after
/// <see cref="MaxAge"/>; a scrape of an idle daemon opens no folder. Ages and free space are measured at each scrape.
/// </summary>
internal sealed class FolderMetrics
{
    /// <summary>
    /// How long a reading is used while no folder changes: a file changed in place, or a second change within the
    /// same tick of the filesystem's coarse clock as the one already read, is seen within this time.
    /// </summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private static readonly Gauge FailedChecks = Metrics.CreateGauge("cellar_backups_failed_verification", "Stored backups of the job that a check found bad since they were written.", "job");
    private static readonly Gauge AwaitingFullCheck = Metrics.CreateGauge("cellar_backups_awaiting_full_check", "Backups of the job published after their quick proof whose full check has not passed yet.", "job");
    private static readonly Gauge FullCheckWait = Metrics.CreateGauge("cellar_backup_full_check_wait_seconds", "How long the job's oldest backup awaiting its full check has waited since it was made (0 when none).", "job");
    private static readonly Gauge DiskFree = Metrics.CreateGauge("cellar_backup_disk_free_bytes", "Free bytes on the volume of a backup root.", "backup_root");
    private static readonly Gauge Pending = Metrics.CreateGauge("cellar_offsite_pending_backups", "Verified backups not yet confirmed at the destination.", "database", "destination");
    private static readonly Gauge Lag = Metrics.CreateGauge("cellar_offsite_lag_seconds", "Age of the oldest backup not yet confirmed at the destination (0 when none).", "database", "destination");

    // Every daemon app running in this process (tests run many); one callback serves them all, and values of a label
    // that several of them report are added up.
    private static readonly ConcurrentDictionary<FolderMetrics, bool> Live = new();
    private static readonly Lazy<bool> Callback = new(() =>
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);
        return true;
    });

    private readonly CellarConfig _config;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<string> _folders;
    private readonly Lock _gate = new();
    private Reading? _reading;

    private FolderMetrics(CellarConfig config, TimeProvider time)
    {
        _config = config;
        _time = time;
        _folders = config.Jobs.Select(j => j.Folder).Concat(config.Databases.Select(OffsiteLedger.FolderOf)).Distinct().ToList();
    }

    /// <summary>Reports <paramref name="config"/>'s folders on /metrics for as long as <paramref name="app"/> runs.</summary>
    public static void Watch(WebApplication app, CellarConfig config, TimeProvider time)
    {
        var metrics = new FolderMetrics(config, time);
        Live.TryAdd(metrics, true);
        app.Lifetime.ApplicationStopped.Register(() => Live.TryRemove(metrics, out _));
        _ = Callback.Value;
    }

    private static void Refresh()
    {
        var readings = Live.Keys.Select(m => (Metrics: m, Reading: m.Current())).ToList();
        foreach (var job in readings.SelectMany(m => m.Reading.Checks.Select(c => (c, m.Metrics._time))).GroupBy(c => c.c.Job))
        {
            FailedChecks.WithLabels(job.Key).Set(job.Sum(c => c.c.Failed));
            AwaitingFullCheck.WithLabels(job.Key).Set(job.Sum(c => c.c.Awaiting));
            FullCheckWait.WithLabels(job.Key).Set(job.Max(c => c.c.OldestAwaiting is { } oldest ? (c._time.GetUtcNow() - oldest).TotalSeconds : 0));
        }

        foreach (var destination in readings.SelectMany(m => m.Reading.Offsite.Select(lag => (lag, Age: m.Metrics.AgeOf(lag)))).GroupBy(l => (l.lag.Database, l.lag.Destination)))
        {
            Pending.WithLabels(destination.Key.Database, destination.Key.Destination).Set(destination.Sum(l => l.lag.Pending));
            Lag.WithLabels(destination.Key.Database, destination.Key.Destination).Set(destination.Max(l => l.Age));
        }

        foreach (var root in readings.SelectMany(m => m.Metrics._config.Databases.Select(d => d.BackupRoot)).Distinct())
        {
            try
            {
                DiskFree.WithLabels(root).Set(new DriveInfo(Directory.Exists(root) ? root : Path.GetPathRoot(root)!).AvailableFreeSpace);
            }
            catch (IOException)
            {
                // A backup root on a vanished mount: its gauge keeps its last value; /readyz says what is wrong.
            }
        }
    }

    private double AgeOf(OffsiteLag lag) => lag.OldestPending is { } oldest ? (_time.GetUtcNow() - oldest).TotalSeconds : 0;

    /// <summary>The kept reading, or a new one when a folder changed or it is too old.</summary>
    private Reading Current()
    {
        // Taken before the reading: a change made while reading shows in the next stamp, so it is read again then.
        var stamp = string.Join(',', _folders.Select(f => Directory.GetLastWriteTimeUtc(f).Ticks));
        lock (_gate)
        {
            if (_reading is { } kept && kept.Stamp == stamp && _time.GetUtcNow() - kept.At < MaxAge)
            {
                return kept;
            }

            // A ledger that cannot be read makes a destination's problem, shown by backup-status, not a number here.
            var checks = _config.Jobs.Select(j =>
            {
                var entries = BackupCatalog.List(j, _config.TimeZone);
                return new JobChecks(j.QualifiedName(_config), entries.Count(e => e.LastCheck is { Ok: false }), entries.Count(e => e.AwaitingFullCheck), entries.LastOrDefault(e => e.AwaitingFullCheck)?.Created);
            }).ToList();
            var offsite = new OffsiteSync(_config, _time, NullLogger.Instance).Lag().Where(l => l.Problem is null).ToList();
            return (_reading = new Reading(stamp, _time.GetUtcNow(), checks, offsite));
        }
    }

    private sealed record Reading(string Stamp, DateTimeOffset At, IReadOnlyList<JobChecks> Checks, IReadOnlyList<OffsiteLag> Offsite);

    /// <summary>One job's stored backups as the checks left them: failed, awaiting the full check, when the oldest of those was made.</summary>
    private sealed record JobChecks(string Job, int Failed, int Awaiting, DateTimeOffset? OldestAwaiting);
}

using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core;
using Cellar.Core.Logs;
using Cellar.Core.Replication;
using Cellar.Core.Verification;
using Cellar.Core.Scheduling;
using Cellar.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// The daemon's scheduler as a hosted service: runs jobs on their schedules through the shared
/// <see cref="JobDispatcher"/>, and on shutdown (SIGTERM) lets a running job finish for the configured grace period,
/// then cancels it cleanly.
/// </summary>
internal sealed class SchedulerService(CellarConfig config, JobDispatcher dispatcher, TimeProvider time, ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A run this daemon (or a CLI run) was killed in is recorded as failed, and its leftovers go, before any run.
        await new JobRunner(config, time, loggers).RecoverAsync(stoppingToken).ConfigureAwait(false);
        await Task.WhenAll(
            new JobScheduler(config, dispatcher, time, loggers.CreateLogger<JobScheduler>()).RunAsync(stoppingToken),
            WatchLogSizesAsync(stoppingToken),
            VerifyOnScheduleAsync(stoppingToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The built-in verification schedule (daily at 04:30 by default): the full check of every backup still waiting for
    /// it, the restore drill on the other stored backups, newest first, within a budget, and each stream's drill.
    /// </summary>
    private async Task VerifyOnScheduleAsync(CancellationToken stoppingToken)
    {
        if (config.VerifySchedule is not { } schedule)
        {
            return;
        }

        var logger = loggers.CreateLogger(FileLoggerProvider.MaintenanceCategory + ".Verify");
        try
        {
            while (schedule.GetNextOccurrence(time.GetUtcNow(), config.TimeZone) is { } next)
            {
                var wait = next - time.GetUtcNow();
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, stoppingToken).ConfigureAwait(false);
                var sweep = await VerifySweep.RunAsync(config, time, config.VerifyBudget, logger, stoppingToken).ConfigureAwait(false);
                await Alerts.BadBackupsAsync(config, time, logger, sweep).ConfigureAwait(false);

                // Each stream's drill: its newest point rebuilt and compared page for page with the live database.
                foreach (var stream in config.Jobs.OfType<StreamJob>())
                {
                    try
                    {
                        var drill = await StreamDrill.RunAsync(stream, time, config.TimeZone, loggers, stoppingToken).ConfigureAwait(false);
                        if (!drill.Ok)
                        {
                            await Alerts.FailedAsync(config, time, logger, stream, null, $"stream {stream.Name} failed its drill at {drill.Point}: {drill.Problem}").ConfigureAwait(false);
                        }
                    }
                    catch (CellarException e)
                    {
                        await Alerts.FailedAsync(config, time, logger, stream, null, $"stream {stream.Name}: the drill could not run: {e.Message}").ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>Once a minute, a stat per log: a rotate job whose log passed its maxBytes runs early, before the disk fills.</summary>
    private async Task WatchLogSizesAsync(CancellationToken stoppingToken)
    {
        var watched = config.Jobs.OfType<RotateJob>().Where(j => j.MaxBytes is not null).ToList();
        if (watched.Count == 0)
        {
            return;
        }

        using var minute = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        try
        {
            while (await minute.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var job in watched.Where(LogRotator.IsOverMaxBytes))
                {
                    dispatcher.Enqueue(job, tag: null, out _);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await dispatcher.StopAsync(config.ShutdownGrace).ConfigureAwait(false);
    }
}

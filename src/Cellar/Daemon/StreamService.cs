using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// The daemon's stream jobs: one follower each, from start to shutdown, which seals what it holds as it stops; and
/// beside it the copying of its history to each offsite destination.
/// </summary>
internal sealed class StreamService(CellarConfig config, TimeProvider time, ILoggerFactory loggers) : BackgroundService
{
    private readonly StreamRunner _runner = new(time, config.TimeZone, loggers);
    private readonly StreamUploader _uploader = new(config, time, loggers);

    /// <summary>Where each stream stands, as of its follower's last step.</summary>
    public IReadOnlyCollection<StreamState> States => _runner.States;

    /// <summary>Where each stream stands at each offsite destination.</summary>
    public IReadOnlyCollection<StreamOffsiteState> Offsite => _uploader.States;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Each job's uploader asks its follower for a step before each pass, so what it puts ends at the pass.
        var wakes = config.Jobs.OfType<StreamJob>().Select(job => (Job: job, Wake: new StreamWake())).ToList();
        try
        {
            await Task.WhenAll(wakes.SelectMany(w => new[]
            {
                Task.Run(() => _runner.FollowAsync(w.Job, w.Wake, stoppingToken), CancellationToken.None),
                Task.Run(() => _uploader.RunAsync(w.Job, w.Wake, stoppingToken), CancellationToken.None),
            })).ConfigureAwait(false);
        }
        finally
        {
            wakes.ForEach(w => w.Wake.Dispose());
        }
    }
}

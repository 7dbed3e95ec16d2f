using Cellar.Core.Configuration;
using Cellar.Core.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>The daemon's stream jobs: one follower each, from start to shutdown, which seals what it holds as it stops.</summary>
internal sealed class StreamService(CellarConfig config, TimeProvider time, ILoggerFactory loggers) : BackgroundService
{
    private readonly StreamRunner _runner = new(time, config.TimeZone, loggers);

    /// <summary>Where each stream stands, as of its follower's last step.</summary>
    public IReadOnlyCollection<StreamState> States => _runner.States;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(config.Jobs.OfType<StreamJob>().Select(job => Task.Run(() => _runner.FollowAsync(job, stoppingToken), CancellationToken.None)));
}

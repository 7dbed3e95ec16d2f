using Cellar.Core.Configuration;
using Cellar.Core.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>The daemon's stream jobs: one follower each, from start to shutdown, which seals what it holds as it stops.</summary>
internal sealed class StreamService(CellarConfig config, TimeProvider time, ILoggerFactory loggers) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var runner = new StreamRunner(time, config.TimeZone, loggers);
        return Task.WhenAll(config.Jobs.OfType<StreamJob>().Select(job => Task.Run(() => runner.FollowAsync(job, stoppingToken), CancellationToken.None)));
    }
}

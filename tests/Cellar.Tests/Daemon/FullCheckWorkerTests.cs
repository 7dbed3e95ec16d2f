using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Daemon;
using Cellar.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>The daemon's step after each run: a backup published after its quick proof gets its full check soon after, not only in the daily pass.</summary>
public sealed class FullCheckWorkerTests
{
    [Fact]
    public async Task A_run_through_the_daemons_pipeline_is_followed_by_the_new_backups_full_check()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var config = ConfigLoader.Load(sandbox.ConfigPath);
        var job = config.FindJob("daily");
        using var worker = new FullCheckWorker(config, TimeProvider.System, NullLogger<FullCheckWorker>.Instance) { Quiet = () => true };
        await worker.StartAsync(ct);
        var pipeline = new JobPipeline(new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance), worker);

        var outcome = await pipeline.RunAsync(new JobRequest(job), ct);

        var published = Assert.Single(outcome.Files);
        Assert.Equal(1, published.Sidecar.Stage);
        for (var waited = 0; BackupCatalog.List(job, TimeZoneInfo.Utc).Single().AwaitingFullCheck; waited++)
        {
            Assert.True(waited < 600, "the full check did not follow the run within a minute");
            await Task.Delay(100, ct);
        }

        Assert.True(BackupCatalog.List(job, TimeZoneInfo.Utc).Single().LastCheck is { Ok: true });
        await worker.StopAsync(ct);
    }
}

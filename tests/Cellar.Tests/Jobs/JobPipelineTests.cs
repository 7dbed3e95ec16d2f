using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Jobs;

/// <summary>
/// Every run takes one way (<see cref="JobPipeline"/>): the caller's steps, outermost first, around the runner; each
/// step sees the run's whole <see cref="JobOutcome"/>, or its failure, so no caller re-reads a sidecar to learn it.
/// </summary>
public sealed class JobPipelineTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Steps_run_outermost_first_around_the_run_and_each_sees_what_it_published()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await ConfigAsync(ct);
        var seen = new List<string>();
        var pipeline = new JobPipeline(Runner(config), new Recording("outer", seen), new Recording("inner", seen));

        var outcome = await pipeline.RunAsync(new JobRequest(config.FindJob("daily")), ct);

        Assert.Equal(["outer before", "inner before", "inner after", "outer after"], seen);
        var file = Assert.Single(outcome.Files);
        Assert.Equal(file.Path, outcome.Path);
        Assert.Equal(new FileInfo(file.Path).Length, file.Sidecar.SizeBytes);
        Assert.Equal(Sidecar.TryRead(file.Path)!.Sha256, file.Sidecar.Sha256);
        Assert.True(outcome.Duration > TimeSpan.Zero);
        Assert.NotNull(outcome.Prune);
    }

    [Fact]
    public async Task A_failed_run_reaches_every_step_as_its_one_line_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await ConfigAsync(ct);
        File.Delete(config.FindJob("daily").Database.Path);
        var seen = new List<string>();
        var pipeline = new JobPipeline(Runner(config), new Recording("outer", seen), new Recording("inner", seen));

        var error = await Assert.ThrowsAsync<CellarException>(() => pipeline.RunAsync(new JobRequest(config.FindJob("daily")), ct));

        Assert.Equal(["outer before", "inner before", $"inner failed: {error.Message}", $"outer failed: {error.Message}"], seen);
    }

    [Fact]
    public async Task A_rotation_reports_each_archive_with_its_sidecar()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await ConfigAsync(ct);
        var log = ((RotateJob)config.FindJob("logs")).Paths[0];
        await File.WriteAllTextAsync(log, string.Concat(Enumerable.Range(0, 100).Select(i => $"line {i}\n")), ct);

        var outcome = await new JobPipeline(Runner(config)).RunAsync(new JobRequest(config.FindJob("logs")), ct);

        var logOutcome = Assert.Single(outcome.Logs);
        var archive = Assert.Single(outcome.Files);
        Assert.Equal(logOutcome.Archive, archive.Path);
        Assert.Equal(100, archive.Sidecar.RowCounts["lines"]);
        Assert.Equal(new FileInfo(archive.Path).Length, archive.Sidecar.SizeBytes);
    }

    private static JobRunner Runner(CellarConfig config) => new(config, TimeProvider.System, NullLoggerFactory.Instance);

    private async Task<CellarConfig> ConfigAsync(CancellationToken ct)
    {
        var database = _temp.Combine("portfolio.sqlite");
        await SampleDatabases.CopyToAsync(1L << 20, database);
        var log = _temp.Combine("app.log");
        await File.WriteAllTextAsync(log, string.Empty, ct);
        var configPath = _temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "daily": { "type": "snapshot" }, "logs": { "type": "rotate", "paths": ["{{log}}"] } } }
            """, ct);
        return ConfigLoader.Load(configPath);
    }

    /// <summary>A step that writes down when it runs, and what it sees.</summary>
    private sealed class Recording(string name, List<string> seen) : IJobStep
    {
        public async Task<JobOutcome> RunAsync(JobRequest request, JobContinuation rest, CancellationToken cancellationToken)
        {
            seen.Add($"{name} before");
            try
            {
                var outcome = await rest(request, cancellationToken);
                seen.Add($"{name} after");
                return outcome;
            }
            catch (CellarException e)
            {
                seen.Add($"{name} failed: {e.Message}");
                throw;
            }
        }
    }
}

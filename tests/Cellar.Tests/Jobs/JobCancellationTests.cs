using Xunit;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core.Progress;
using Cellar.Core.Snapshots;
using Cellar.Core.Sqlite;
using Cellar.Core.Status;
using Cellar.Demo;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cellar.Tests.Jobs;

public sealed class JobCancellationTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_backup_cancelled_part_way_through_a_stage_stops_there_leaves_no_file_and_is_not_recorded_as_a_failure()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("portfolio.sqlite");

        // Four compression blocks, each proven as it is made; 64 pages a step make the copy about 60 steps, as a
        // database of a few GB takes with the default step, so the cancellation can land between two of them.
        await PortfolioDatabase.CreateAsync(database, 16L << 20, ct);
        SqliteSnapshot.PagesPerStep = 64;
        var configPath = _temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "daily": { "type": "snapshot" } } }
            """, ct);
        var config = ConfigLoader.Load(configPath);
        var job = config.FindJob("daily");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        // Cancel part-way through each stage in turn: the copy (a rollback-journal database is copied; a WAL one is read
        // where it lies, in no time), compression (with each block's proof).
        foreach (var (stage, journal) in new[] { ("snapshot", "DELETE"), ("compress", "WAL") })
        {
            using (var app = SqliteFiles.OpenLive(database))
            {
                app.Execute($"PRAGMA journal_mode={journal}");
            }

            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            JobProgress? cancelledAt = null;
            var after = new List<JobProgress>();
            var progress = new SynchronousProgress(p =>
            {
                lock (after)
                {
                    if (cancelledAt is not null)
                    {
                        after.Add(p);
                    }
                    else if (p.Stage == stage && p.Fraction is > 0 and < 1)
                    {
                        cancelledAt = p;
                        cancel.Cancel();
                    }
                }
            });

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync("daily", null, progress, cancel.Token));

            Assert.True(cancelledAt is not null, $"the {stage} stage never reported being part-way, so it was not cancelled mid-way");

            // The run stops at its next check: the stage goes no further and no later stage starts.
            Assert.True(after.Count == 0, $"cancelled at {cancelledAt}, then went on for {after.Count} more reports, up to {after.LastOrDefault()}");
            Assert.DoesNotContain(Directory.EnumerateFiles(job.Folder), f => !Path.GetFileName(f).StartsWith(".cellar", StringComparison.Ordinal));
            Assert.Null(JobState.Read(job.Folder).LastFailure);
        }

        // And the next run is clean.
        var result = await runner.RunAsync("daily", null, null, ct);
        Assert.True(File.Exists(result.Path));
    }

    [Fact]
    public async Task A_cancelled_table_dump_leaves_no_file_and_a_table_gone_since_validation_fails_the_run_naming_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("portfolio.sqlite");
        await PortfolioDatabase.CreateAsync(database, 8L << 20, ct);
        var configPath = _temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "social": { "type": "tables", "tables": ["comments", "likes", "follows"] } } }
            """, ct);
        var config = ConfigLoader.Load(configPath);
        var job = config.FindJob("social");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var progress = new SynchronousProgress(p =>
            {
                if (p.Stage == "dump")
                {
                    cancel.Cancel();
                }
            });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync("social", null, progress, cancel.Token));
            Assert.DoesNotContain(Directory.EnumerateFiles(job.Folder), f => !Path.GetFileName(f).StartsWith(".cellar", StringComparison.Ordinal));
            Assert.Null(JobState.Read(job.Folder).LastFailure);
        }

        using (var app = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=false"))
        {
            app.Open();
            using var drop = app.CreateCommand();
            drop.CommandText = "DROP TABLE follows";
            drop.ExecuteNonQuery();
        }

        var failure = await Assert.ThrowsAsync<Cellar.Core.CellarException>(() => runner.RunAsync("social", null, null, ct));
        Assert.Contains("'follows'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("follows", JobState.Read(job.Folder).LastFailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(job.Folder), f => !Path.GetFileName(f).StartsWith(".cellar", StringComparison.Ordinal));
    }
}

using Cellar.Core;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// With no config file anywhere, Cellar must do exactly what the seed's scripts and crontab did. Loaded
/// through the overload that takes the machine's inputs, so a cellar.json or CELLAR__ variable on the test
/// machine cannot change the outcome.
/// </summary>
public sealed class SeedDefaultsTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static CellarConfig LoadDefaults() =>
        ConfigLoader.Load(explicitPath: null, pathVariable: null, searchPaths: [], environmentOverrides: false);

    [Fact]
    public void Without_a_config_file_the_seed_database_and_folders_are_used()
    {
        var config = LoadDefaults();

        Assert.Null(config.Source);
        var database = Assert.Single(config.Databases);
        Assert.Equal("/app/data/portfolio.sqlite", database.Path);
        Assert.Equal("/app/backups", database.BackupRoot);
        Assert.Equal("/app/logs", config.LogDir);
        Assert.Equal(["daily", "gallery", "logs", "social"], config.Jobs.Select(j => j.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("daily", JobType.Snapshot, "0 2 * * *", "/app/backups/daily", 30, "portfolio-2026-11-26.sqlite.gz")]
    [InlineData("social", JobType.Tables, "0 3 * * 0", "/app/backups/social", 84, "social-tables-2026-11-26.sql.gz")]
    [InlineData("gallery", JobType.Snapshot, null, "/app/backups/event-triggered", 90, "gallery-added-summer-20261126-140501.sqlite.gz")]
    [InlineData("logs", JobType.Rotate, "0 1 * * *", "/app/backups/logs-archive", 7, "backend-2026-11-26.log.gz")]
    public void Without_a_config_file_each_seed_job_keeps_its_schedule_folder_name_and_retention(
        string name, JobType type, string? schedule, string folder, int keepDays, string exampleFile)
    {
        var job = LoadDefaults().FindJob(name);

        Assert.Equal(type, job.Type);
        Assert.Equal(schedule, job.ScheduleText);
        Assert.Equal(schedule is null, job.Schedule is null);
        Assert.Equal(folder, job.Folder);
        Assert.Equal(keepDays, job.KeepDays);
        Assert.Equal(3, job.KeepAtLeast);
        Assert.Equal(CompressionKind.Gzip, job.Compression);
        Assert.Null(job.CompressionLevel);
        Assert.Equal(exampleFile, job.FileName.Render(new DateTime(2026, 11, 26, 14, 5, 1), job.FileName.HasTag ? "summer" : null));
    }

    [Fact]
    public void Without_a_config_file_the_gallery_job_is_on_demand_and_needs_a_tag()
    {
        var gallery = LoadDefaults().FindJob("gallery");

        Assert.Null(gallery.Schedule);
        Assert.True(gallery.FileName.HasTag);
    }

    [Fact]
    public void Without_a_config_file_the_social_job_dumps_the_seed_tables_and_logs_rotates_the_backend_log()
    {
        var config = LoadDefaults();

        Assert.Equal(["comments", "likes", "reactions", "follows"], ((TablesJob)config.FindJob("social")).Tables);
        Assert.Equal(["/app/logs/backend.log"], ((RotateJob)config.FindJob("logs")).Paths);
    }

    [Fact]
    public void A_config_file_in_the_search_path_replaces_the_defaults()
    {
        var file = _temp.Combine("cellar.json");
        File.WriteAllText(file, $$"""
            {
              "database": "{{_temp.Combine("app.sqlite")}}",
              "backupRoot": "{{_temp.Combine("backups")}}",
              "logDir": "{{_temp.Combine("logs")}}",
              "jobs": { "nightly": { "type": "snapshot", "schedule": "30 4 * * *", "fileName": "app-{yyyy}-{MM}-{dd}.sqlite" } }
            }
            """);

        var config = ConfigLoader.Load(null, null, [_temp.Combine("missing.json"), file], environmentOverrides: false);

        Assert.Equal(file, config.Source);
        Assert.Equal("nightly", Assert.Single(config.Jobs).Name);
    }

    [Fact]
    public void A_CELLAR_CONFIG_naming_a_missing_file_is_a_config_error_not_a_silent_fallback_to_defaults()
    {
        var missing = _temp.Combine("nope.json");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, missing, [], environmentOverrides: false));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }
}

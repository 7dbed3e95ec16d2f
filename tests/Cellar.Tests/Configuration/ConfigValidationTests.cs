using Cellar.Core;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// A bad config stops Cellar before any job touches a file, with one line that names the offending key and
/// exit code 2. Files are real JSON on disk; CELLAR__ variables are left out (see ConfigEnvironmentTests).
/// </summary>
/// <remarks>Over 300 lines on purpose: one short test per bad setting, all through the same config-file helper.</remarks>
public sealed class ConfigValidationTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Database => _temp.Combine("data", "portfolio.sqlite");

    private string BackupRoot => _temp.Combine("backups");

    private string LogDir => _temp.Combine("logs");

    /// <summary>A short-form config whose <c>jobs</c> object is <paramref name="jobs"/>.</summary>
    private string ShortForm(string jobs, string? database = null) => $$"""
        {
          "database": "{{database ?? Database}}",
          "backupRoot": "{{BackupRoot}}",
          "logDir": "{{LogDir}}",
          "timeZone": "UTC",
          "jobs": {{jobs}}
        }
        """;

    private static string DailyJob(string extra = "") => $$"""
        { "daily": { "type": "snapshot", "schedule": "0 2 * * *", "folder": "daily", "fileName": "portfolio-{yyyy}-{MM}-{dd}.sqlite"{{extra}} } }
        """;

    private CellarConfig Load(string json)
    {
        var path = _temp.Combine("cellar.json");
        File.WriteAllText(path, json);
        return ConfigLoader.Load(path, pathVariable: null, searchPaths: [], environmentOverrides: false);
    }

    private ConfigException AssertRefused(string json, string key)
    {
        var error = Assert.Throws<ConfigException>(() => Load(json));
        Assert.Equal(2, error.ExitCode);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        return error;
    }

    [Fact]
    public void A_valid_short_form_config_loads_with_the_given_values()
    {
        var config = Load(ShortForm(DailyJob(""", "keepDays": 14, "keepAtLeast": 5, "compression": "zstd" """)));

        var job = Assert.Single(config.Jobs);
        Assert.Equal(Database, job.Database.Path);
        Assert.Equal(Path.Combine(BackupRoot, "daily"), job.Folder);
        Assert.Equal(14, job.KeepDays);
        Assert.Equal(5, job.KeepAtLeast);
        Assert.Equal(CompressionKind.Zstd, job.Compression);
        Assert.Equal(TimeZoneInfo.Utc.BaseUtcOffset, config.TimeZone.BaseUtcOffset);
    }

    [Fact]
    public void An_unknown_job_type_is_refused_naming_the_key()
    {
        var error = AssertRefused(ShortForm("""{ "daily": { "type": "snapshott", "schedule": "0 2 * * *" } }"""), "jobs:daily:type");

        Assert.Contains("snapshott", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0 25 * * *")]
    [InlineData("every night")]
    [InlineData("0 2 * *")]
    [InlineData("61 2 * * *")]
    public void A_bad_cron_expression_is_refused_naming_the_key(string schedule)
    {
        var error = AssertRefused(ShortForm($$"""{ "daily": { "type": "snapshot", "schedule": "{{schedule}}" } }"""), "jobs:daily:schedule");

        Assert.Contains(schedule, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cron_expression_with_a_seconds_field_is_accepted()
    {
        var job = Assert.Single(Load(ShortForm("""{ "daily": { "type": "snapshot", "schedule": "30 0 2 * * *" } }""")).Jobs);

        Assert.NotNull(job.Schedule);
        var next = job.Schedule.GetNextOccurrence(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 2, 0, 30, TimeSpan.Zero), next);
    }

    [Fact]
    public void A_relative_database_path_is_refused_naming_the_key()
    {
        var error = AssertRefused(ShortForm(DailyJob(), database: "data/portfolio.sqlite"), "database");

        Assert.Contains("data/portfolio.sqlite", error.Message, StringComparison.Ordinal);
        Assert.Contains("absolute", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("daily", "daily")]
    [InlineData("daily", "./daily")]
    [InlineData("daily", "daily/")]
    [InlineData("daily", "daily/.")]
    [InlineData("daily/", "./daily//")]
    public void Two_jobs_writing_the_same_folder_are_refused(string first, string second)
    {
        var jobs = $$"""
            {
              "first": { "type": "snapshot", "folder": "{{first}}", "fileName": "a-{yyyy}-{MM}-{dd}.sqlite" },
              "second": { "type": "snapshot", "folder": "{{second}}", "fileName": "b-{yyyy}-{MM}-{dd}.sqlite" }
            }
            """;

        var error = AssertRefused(ShortForm(jobs), ":folder");

        Assert.Contains("jobs:first", error.Message, StringComparison.Ordinal);
        Assert.Contains("jobs:second", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_jobs_writing_the_same_folder_given_once_relative_and_once_absolute_are_refused()
    {
        var jobs = $$"""
            {
              "first": { "type": "snapshot", "folder": "daily", "fileName": "a-{yyyy}-{MM}-{dd}.sqlite" },
              "second": { "type": "snapshot", "folder": "{{Path.Combine(BackupRoot, "daily")}}", "fileName": "b-{yyyy}-{MM}-{dd}.sqlite" }
            }
            """;

        AssertRefused(ShortForm(jobs), ":folder");
    }

    [Fact]
    public void A_misspelt_key_is_refused_instead_of_silently_ignored()
    {
        var error = AssertRefused(ShortForm(DailyJob(""", "kepDays": 60 """)), "jobs:daily:kepDays");

        Assert.Contains("unknown key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_is_refused_with_the_line_of_the_problem()
    {
        var json = """
            {
              "database": "/app/data/portfolio.sqlite",
              "backupRoot": "/app/backups"
              "logDir": "/app/logs"
            }
            """;

        var error = Assert.Throws<ConfigException>(() => Load(json));

        Assert.Equal(2, error.ExitCode);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_databases_list_with_two_databases_loads_both_with_their_own_jobs()
    {
        var json = $$"""
            {
              "logDir": "{{LogDir}}",
              "timeZone": "UTC",
              "databases": [
                {
                  "name": "portfolio",
                  "path": "{{Database}}",
                  "backupRoot": "{{_temp.Combine("backups", "portfolio")}}",
                  "jobs": { "daily": { "type": "snapshot", "schedule": "0 2 * * *" } }
                },
                {
                  "name": "shop",
                  "path": "{{_temp.Combine("data", "shop.sqlite")}}",
                  "backupRoot": "{{_temp.Combine("backups", "shop")}}",
                  "jobs": { "daily": { "type": "snapshot", "schedule": "0 3 * * *" }, "orders": { "type": "tables", "tables": ["orders"] } }
                }
              ]
            }
            """;

        var config = Load(json);

        Assert.Equal(["portfolio", "shop"], config.Databases.Select(d => d.Name));
        Assert.Equal(_temp.Combine("backups", "portfolio", "daily"), config.FindJob("portfolio/daily").Folder);
        Assert.Equal(_temp.Combine("backups", "shop", "daily"), config.FindJob("shop/daily").Folder);
        Assert.Equal("shop", config.FindJob("orders").Database.Name);
        Assert.Equal("shop/orders", config.FindJob("orders").QualifiedName(config));
        var ambiguous = Assert.Throws<ConfigException>(() => config.FindJob("daily"));
        Assert.Contains("portfolio/daily", ambiguous.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_databases_whose_jobs_write_the_same_folder_are_refused()
    {
        var json = $$"""
            {
              "logDir": "{{LogDir}}",
              "backupRoot": "{{BackupRoot}}",
              "databases": [
                { "name": "portfolio", "path": "{{Database}}", "jobs": { "daily": { "type": "snapshot" } } },
                { "name": "shop", "path": "{{_temp.Combine("data", "shop.sqlite")}}", "jobs": { "daily": { "type": "snapshot" } } }
              ]
            }
            """;

        AssertRefused(json, "databases:1:jobs:daily:folder");
    }

    [Theory]
    [InlineData("\"sixty\"")]
    [InlineData("30.5")]
    [InlineData("\"\"")]
    [InlineData("{ \"days\": 30 }")]
    public void A_keepDays_that_is_not_a_whole_number_is_refused_instead_of_dropping_the_job(string value)
    {
        var error = AssertRefused(ShortForm(DailyJob($", \"keepDays\": {value}")), "jobs:daily:keepDays");

        Assert.Contains("whole number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeepAtLeast_zero_is_refused_because_the_last_good_backup_is_never_deleted()
    {
        AssertRefused(ShortForm(DailyJob(""", "keepAtLeast": 0 """)), "jobs:daily:keepAtLeast");
    }

    [Fact]
    public void A_file_name_ending_in_gz_with_zstd_compression_is_refused()
    {
        var jobs = """{ "daily": { "type": "snapshot", "fileName": "portfolio-{yyyy}-{MM}-{dd}.sqlite.gz", "compression": "zstd" } }""";

        AssertRefused(ShortForm(jobs), "jobs:daily:fileName");
    }

    [Fact]
    public void A_file_name_ending_in_sqlite_gz_with_gzip_is_accepted_and_rendered_with_one_gz()
    {
        var jobs = """{ "daily": { "type": "snapshot", "fileName": "portfolio-{yyyy}-{MM}-{dd}.sqlite.gz", "compression": "gzip" } }""";

        var job = Assert.Single(Load(ShortForm(jobs)).Jobs);

        Assert.Equal("portfolio-2026-11-26.sqlite.gz", job.FileName.Render(new DateTime(2026, 11, 26, 14, 5, 1), null));
        Assert.True(job.FileName.TryMatch("portfolio-2026-11-26.sqlite.gz", out _, out _));
        Assert.False(job.FileName.TryMatch("portfolio-2026-11-26.sqlite.gz.gz", out _, out _));
    }

    [Theory]
    [InlineData(""", "compression": "brotli" """, "jobs:daily:compression")]
    [InlineData(""", "keepDays": 0 """, "jobs:daily:keepDays")]
    [InlineData(""", "folder": "../elsewhere" """, "jobs:daily:folder")]
    [InlineData(""", "fileName": "portfolio-latest.sqlite" """, "jobs:daily:fileName")]
    [InlineData(""", "fileName": "portfolio-{yyyy}-{MM}-{dd}-{when}.sqlite" """, "jobs:daily:fileName")]
    [InlineData(""", "fileName": "../portfolio-{yyyy}-{MM}-{dd}.sqlite" """, "jobs:daily:fileName")]
    [InlineData(""", "compressionLevel": 12 """, "jobs:daily:compressionLevel")]
    [InlineData(""", "offsiteIntervalMs": 750 """, "jobs:daily:offsiteIntervalMs")]
    [InlineData(""", "fullCheck": "later" """, "jobs:daily:fullCheck")]
    public void Other_bad_job_settings_are_refused_naming_the_key(string extra, string key)
    {
        var jobs = $$"""{ "daily": { "type": "snapshot"{{extra}} } }""";

        AssertRefused(ShortForm(jobs), key);
    }

    [Theory]
    [InlineData(null, 800)]
    [InlineData(5000, 5000)]
    [InlineData(99, null)]
    [InlineData(3_600_001, null)]
    public void A_streams_offsite_interval_is_800_ms_unless_set_within_100_ms_to_an_hour(int? set, int? expected)
    {
        var jobs = $$"""{ "live": { "type": "stream"{{(set is null ? "" : $", \"offsiteIntervalMs\": {set}")}} } }""";

        if (expected is null)
        {
            AssertRefused(ShortForm(jobs), "jobs:live:offsiteIntervalMs");
            return;
        }

        Assert.Equal(TimeSpan.FromMilliseconds(expected.Value), ((StreamJob)Load(ShortForm(jobs)).FindJob("live")).OffsiteInterval);
    }

    [Theory]
    [InlineData("snapshot", null, FullCheck.Deferred)]
    [InlineData("snapshot", "inline", FullCheck.Inline)]
    [InlineData("tables", "Deferred", FullCheck.Deferred)]
    [InlineData("stream", null, FullCheck.Inline)]
    [InlineData("rotate", "inline", null)]
    [InlineData("stream", "deferred", null)]
    public void A_backups_full_check_is_deferred_unless_set_inline_and_only_snapshots_and_dumps_take_the_setting(string type, string? set, FullCheck? expected)
    {
        var extra = (type == "tables" ? ", \"tables\": [\"galleries\"]" : type == "rotate" ? ", \"path\": \"/var/log/app.log\"" : "") + (set is null ? "" : $", \"fullCheck\": \"{set}\"");
        var jobs = $$"""{ "job": { "type": "{{type}}"{{extra}} } }""";

        if (expected is null)
        {
            AssertRefused(ShortForm(jobs), "jobs:job:fullCheck");
            return;
        }

        Assert.Equal(expected, Load(ShortForm(jobs)).FindJob("job").FullCheck);
    }

    [Fact]
    public void An_unknown_time_zone_is_refused_naming_the_key()
    {
        var json = ShortForm(DailyJob()).Replace("\"UTC\"", "\"Mars/Olympus_Mons\"", StringComparison.Ordinal);

        AssertRefused(json, "timeZone");
    }

    [Theory]
    [InlineData("Portfolio.sqlite", "portfolio")]
    [InlineData("my.app.db", "my-app")]
    [InlineData("App Data.db", "app-data")]
    [InlineData("--Weird__Name!!.db", "weird__name")]
    [InlineData("portfolio.sqlite", "portfolio")]
    [InlineData("app_data--v2.db", "app_data--v2")]
    [InlineData("Ωμέγα.db", "database")]
    [InlineData(".db", "database")]
    public void A_database_file_name_that_is_no_valid_name_gives_a_derived_one(string fileName, string expected)
    {
        var config = Load(ShortForm(DailyJob(), database: _temp.Combine("data", fileName)));

        Assert.Equal(expected, Assert.Single(config.Databases).Name);
    }

    [Fact]
    public void Two_databases_deriving_the_same_name_are_refused_with_the_advice_to_set_name()
    {
        var json = $$"""
            {
              "logDir": "{{LogDir}}",
              "backupRoot": "{{BackupRoot}}",
              "databases": [
                { "path": "{{_temp.Combine("a", "Shop.db")}}", "jobs": { "daily": { "type": "snapshot", "folder": "a" } } },
                { "path": "{{_temp.Combine("b", "shop.sqlite")}}", "jobs": { "daily": { "type": "snapshot", "folder": "b" } } }
              ]
            }
            """;

        var error = AssertRefused(json, "databases:1:name");

        Assert.Contains("'shop'", error.Message, StringComparison.Ordinal);
        Assert.Contains("set 'name'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("My App")]
    [InlineData("Shop")]
    [InlineData("-shop")]
    public void An_explicit_database_name_is_still_validated_strictly(string name)
    {
        var json = $$"""
            {
              "logDir": "{{LogDir}}",
              "backupRoot": "{{BackupRoot}}",
              "databases": [ { "name": "{{name}}", "path": "{{Database}}", "jobs": { "daily": { "type": "snapshot" } } } ]
            }
            """;

        AssertRefused(json, "databases:0:name");
    }

    [Theory]
    [InlineData("0 0 30 2 *")]
    [InlineData("0 0 31 4 *")]
    [InlineData("0 0 0 31 11 *")]
    public void A_schedule_that_can_never_fire_is_refused_naming_the_key(string schedule)
    {
        var error = AssertRefused(ShortForm($$"""{ "daily": { "type": "snapshot", "schedule": "{{schedule}}" } }"""), "jobs:daily:schedule");

        Assert.Contains("never", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_verify_schedule_that_can_never_fire_is_refused_naming_the_key()
    {
        var json = ShortForm(DailyJob()).Replace("\"timeZone\"", "\"verifySchedule\": \"0 4 30 2 *\", \"timeZone\"", StringComparison.Ordinal);

        AssertRefused(json, "verifySchedule");
    }

    [Theory]
    [InlineData("0 3 1 * 0", "2026-11-29T03:00:00Z", "2026-12-01T03:00:00Z")] // Sunday the 29th, then Tuesday the 1st
    [InlineData("0 0 30 2 1", "2027-02-01T00:00:00Z", "2027-02-08T00:00:00Z")] // no February 30th, but February's Mondays
    [InlineData("0 3 * * 0", "2026-11-29T03:00:00Z", "2026-12-06T03:00:00Z")] // the seed's Sunday dump, unchanged
    public void A_schedule_with_both_a_day_of_month_and_a_day_of_week_fires_on_either_as_crontab_does(string schedule, string first, string second)
    {
        var job = Assert.Single(Load(ShortForm($$"""{ "daily": { "type": "snapshot", "schedule": "{{schedule}}" } }""")).Jobs);

        var next = job.Schedule!.GetNextOccurrence(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc)!.Value;
        var after = job.Schedule.GetNextOccurrence(next, TimeZoneInfo.Utc);

        Assert.Equal(DateTimeOffset.Parse(first, System.Globalization.CultureInfo.InvariantCulture), next);
        Assert.Equal(DateTimeOffset.Parse(second, System.Globalization.CultureInfo.InvariantCulture), after);
    }

    [Fact]
    public void A_leap_day_schedule_fires_and_is_accepted()
    {
        var job = Assert.Single(Load(ShortForm("""{ "daily": { "type": "snapshot", "schedule": "0 0 29 2 *" } }""")).Jobs);

        Assert.NotNull(job.Schedule);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{ \"jobs\": {} }")]
    [InlineData("{ \"database\": \"/app/data/portfolio.sqlite\", \"backupRoot\": \"/app/backups\" }")]
    [InlineData("{ \"databases\": [ { \"name\": \"shop\", \"path\": \"/app/data/shop.db\" } ] }")]
    public void A_config_that_defines_no_jobs_is_refused_saying_how_to_fix_it(string json)
    {
        var error = AssertRefused(json, "jobs");

        Assert.Contains("no jobs", error.Message, StringComparison.Ordinal);
        Assert.Contains("remove", error.Message, StringComparison.Ordinal);
    }
}

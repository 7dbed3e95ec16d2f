using System.Diagnostics;
using System.Security.Cryptography;

using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Retention;
using Cellar.Tests.Support;

using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

using Xunit;

namespace Cellar.Tests.Retention;

/// <summary>
/// Pruning real files in a real job folder, with the clock faked. Every backup's mtime is set to mislead
/// (old backups look fresh, fresh ones look ancient), so a pruner that looked at mtimes would fail here.
/// </summary>
/// <remarks>Over 300 lines on purpose: one test per retention rule, all on the same misleading-mtime folder.</remarks>
public sealed class PrunerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 0, 30, 0, TimeSpan.Zero);
    private static readonly DateTime Ancient = new(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly DatabaseConfig _database;
    private readonly JobConfig _job;

    public PrunerTests()
    {
        _database = new DatabaseConfig("portfolio", _temp.Combine("data", "portfolio.sqlite"), _temp.Combine("backups"));
        _job = Job("daily");
    }

    public void Dispose() => _temp.Dispose();

    private SnapshotJob Job(string folder) => new()
    {
        Name = folder,
        Database = _database,
        Folder = Path.Combine(_database.BackupRoot, folder),
        FileName = FileNamePattern.Parse("portfolio-{yyyy}-{MM}-{dd}.sqlite", ".gz"),
        KeepDays = 30,
        KeepAtLeast = 3,
        Compression = CompressionKind.Gzip,
    };

    private PruneResult Prune(JobConfig? job = null, bool dryRun = false, TimeZoneInfo? zone = null) =>
        new Pruner(_time, OffsiteHold.Instance, NullLogger<Pruner>.Instance).Prune(job ?? _job, zone ?? TimeZoneInfo.Utc, dryRun);

    /// <summary>
    /// Writes a backup made at <paramref name="created"/> under the job's pattern (taking the next collision
    /// name when the day's name is taken) with a sidecar whose size matches, unless told otherwise.
    /// </summary>
    private string AddBackup(DateTimeOffset created, bool verified = true, bool sidecar = true, int collision = 0, JobConfig? job = null, DateTime? mtime = null)
    {
        job ??= _job;
        Directory.CreateDirectory(job.Folder);
        string path;
        while (File.Exists(path = Path.Combine(job.Folder, job.FileName.Render(created.UtcDateTime, null, collision))))
        {
            collision++;
        }

        var bytes = RandomNumberGenerator.GetBytes(512);
        File.WriteAllBytes(path, bytes);
        if (sidecar)
        {
            new Sidecar
            {
                Job = job.Name,
                Database = job.Database.Name,
                Created = created,
                SourcePath = job.Database.Path,
                RowCounts = new Dictionary<string, long> { ["users"] = 10 },
                Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                SizeBytes = bytes.Length,
                Compression = "gzip",
                Verified = verified,
                CellarVersion = "test",
            }.Write(path);
        }

        // Misleading on purpose: the older the backup, the fresher its mtime.
        var misleading = mtime ?? (Now - created > TimeSpan.FromDays(15) ? Now.UtcDateTime : Ancient);
        File.SetLastWriteTimeUtc(path, misleading);
        if (sidecar)
        {
            File.SetLastWriteTimeUtc(Sidecar.PathFor(path), misleading);
        }

        return path;
    }

    private static string AddStranger(string folder, string name)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, "not a backup");
        File.SetLastWriteTimeUtc(path, Ancient);
        return path;
    }

    /// <summary>Three verified backups from the last three days, so keepAtLeast protects nothing older.</summary>
    private List<string> AddRecentBackups() => [AddBackup(Now.AddDays(-1)), AddBackup(Now.AddDays(-2)), AddBackup(Now.AddDays(-3))];

    private static void AssertGone(string path)
    {
        Assert.False(File.Exists(path), $"{path} should have been deleted");
        Assert.False(File.Exists(Sidecar.PathFor(path)), $"the sidecar of {path} should have been deleted");
    }

    [Fact]
    public void A_backup_just_inside_keepDays_is_kept_and_one_just_outside_is_deleted_whatever_the_mtimes()
    {
        var recent = AddRecentBackups();
        var inside = AddBackup(Now - TimeSpan.FromDays(30) + TimeSpan.FromHours(1), mtime: Ancient);
        var outside = AddBackup(Now - TimeSpan.FromDays(30) - TimeSpan.FromHours(1), mtime: Now.UtcDateTime.AddYears(1));

        var result = Prune();

        Assert.Empty(result.Failures);
        Assert.False(result.DryRun);
        Assert.Equal([outside], result.Deleted.Select(e => e.Path));
        Assert.Equal([.. recent, inside], result.Kept.Select(e => e.Path));
        Assert.True(File.Exists(inside));
        Assert.True(File.Exists(Sidecar.PathFor(inside)));
        AssertGone(outside);
    }

    [Fact]
    public void A_backup_a_later_check_found_bad_never_counts_toward_keepAtLeast()
    {
        var recent = AddRecentBackups();
        var old = AddBackup(Now.AddDays(-40));
        foreach (var rotten in recent.Skip(1))
        {
            CheckLedger.Record(rotten, new CheckRecord(Now, Ok: false, "checksum mismatch", Sidecar.TryRead(rotten)!.Sha256));
        }

        var result = Prune();

        // Only two good backups are left (the newest and the old one): keepAtLeast 3 keeps the old one.
        Assert.DoesNotContain(old, result.Deleted.Select(e => e.Path));
        Assert.True(File.Exists(old));
    }

    [Fact]
    public void The_time_in_the_sidecar_wins_over_the_date_in_the_name()
    {
        // Named 2026-10-27 (midnight: 30 days 30 minutes ago) but made at 01:30 (29 days 23 hours ago).
        AddRecentBackups();
        var path = AddBackup(Now - TimeSpan.FromDays(30) + TimeSpan.FromHours(1));
        Assert.EndsWith("portfolio-2026-10-27.sqlite.gz", path, StringComparison.Ordinal);

        var result = Prune();

        Assert.Empty(result.Deleted);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void KeepAtLeast_keeps_the_newest_verified_backups_even_when_all_are_older_than_keepDays()
    {
        var backups = Enumerable.Range(40, 5).Select(days => AddBackup(Now.AddDays(-days))).ToList();

        var result = Prune();

        Assert.Empty(result.Failures);
        Assert.Equal(backups[..3], result.Kept.Select(e => e.Path));
        Assert.Equal(backups[3..], result.Deleted.Select(e => e.Path));
        Assert.All(backups[..3], p => Assert.True(File.Exists(p)));
        Assert.All(backups[3..], AssertGone);
    }

    [Fact]
    public void An_unverified_old_backup_does_not_count_toward_keepAtLeast_when_verified_ones_exist()
    {
        var unverified = AddBackup(Now.AddDays(-35), verified: false);
        var verified = Enumerable.Range(40, 4).Select(days => AddBackup(Now.AddDays(-days))).ToList();

        var result = Prune();

        Assert.Equal(verified[..3], result.Kept.Select(e => e.Path));
        Assert.Equal([unverified, verified[3]], result.Deleted.Select(e => e.Path));
        AssertGone(unverified);
    }

    [Fact]
    public void A_backup_whose_size_changed_since_verification_does_not_count_toward_keepAtLeast()
    {
        var truncated = AddBackup(Now.AddDays(-35));
        var verified = Enumerable.Range(40, 4).Select(days => AddBackup(Now.AddDays(-days))).ToList();
        File.WriteAllBytes(truncated, new byte[10]);
        File.SetLastWriteTimeUtc(truncated, Now.UtcDateTime);

        var result = Prune();

        Assert.Equal(verified[..3], result.Kept.Select(e => e.Path));
        Assert.Contains(truncated, result.Deleted.Select(e => e.Path));
    }

    [Fact]
    public void When_no_backup_is_verified_the_newest_are_kept_rather_than_none()
    {
        var backups = Enumerable.Range(40, 5).Select(days => AddBackup(Now.AddDays(-days), verified: false)).ToList();

        var result = Prune();

        Assert.Equal(backups[..3], result.Kept.Select(e => e.Path));
        Assert.All(backups[..3], p => Assert.True(File.Exists(p)));
    }

    [Fact]
    public void Strangers_files_in_and_around_the_job_folder_are_never_touched()
    {
        var daily = _job.Folder;
        var weekly = Job("weekly");
        var strangers = new List<string>
        {
            AddStranger(daily, "notes.txt"),
            AddStranger(daily, "portfolio-latest.sqlite.gz"),
            AddStranger(daily, "portfolio-2026-13-45.sqlite.gz"),
            AddStranger(daily, "portfolio-2020-01-01.sqlite"),
            AddStranger(daily, "portfolio-2020-01-01.sqlite.zst"),
            AddStranger(daily, ".portfolio-2020-01-01.sqlite.gz.cellar-tmp-0a1b2c3d"),
            AddStranger(daily, "portfolio-2020-01-02.sqlite.gz.json"),
            AddStranger(Path.Combine(daily, "old"), "portfolio-2020-01-01.sqlite.gz"),
            AddBackup(Now.AddDays(-400), job: weekly),
            AddBackup(Now.AddDays(-401), job: weekly, sidecar: false),
        };
        AddRecentBackups();
        var expired = AddBackup(Now.AddDays(-400));

        var result = Prune();

        Assert.Equal([expired], result.Deleted.Select(e => e.Path));
        Assert.All(strangers, p => Assert.True(File.Exists(p), $"{p} was touched"));
        Assert.All(result.Kept.Concat(result.Deleted), e => Assert.Equal(daily, Path.GetDirectoryName(e.Path)));
    }

    [Fact]
    public void A_backup_whose_sidecar_is_missing_is_recognised_by_its_name_and_pruned_by_its_date()
    {
        AddRecentBackups();
        var dayInside = AddBackup(Now - TimeSpan.FromDays(29), sidecar: false);
        var dayOutside = AddBackup(Now - TimeSpan.FromDays(31), sidecar: false);

        var result = Prune();

        Assert.Contains(dayInside, result.Kept.Select(e => e.Path));
        Assert.Equal([dayOutside], result.Deleted.Select(e => e.Path));
        Assert.True(File.Exists(dayInside));
        Assert.False(File.Exists(dayOutside));
    }

    [Fact]
    public void A_backup_whose_sidecar_is_missing_is_aged_by_the_time_in_its_collision_suffix()
    {
        AddRecentBackups();
        var inside = AddBackup(Now - TimeSpan.FromDays(30) + TimeSpan.FromMinutes(5), sidecar: false, collision: 1);
        var outside = AddBackup(Now - TimeSpan.FromDays(30) - TimeSpan.FromMinutes(5), sidecar: false, collision: 1);
        Assert.EndsWith("portfolio-2026-10-27-003500.sqlite.gz", inside, StringComparison.Ordinal);
        Assert.EndsWith("portfolio-2026-10-27-002500.sqlite.gz", outside, StringComparison.Ordinal);

        var result = Prune();

        Assert.Equal([outside], result.Deleted.Select(e => e.Path));
        Assert.True(File.Exists(inside));
    }

    [Fact]
    public void A_name_without_a_sidecar_is_read_in_the_configured_time_zone()
    {
        TimeZoneInfo berlin;
        try
        {
            berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        }
        catch (TimeZoneNotFoundException)
        {
            Assert.Skip("tzdata is not installed: Europe/Berlin is unknown");
            return;
        }

        // The cutoff is 2026-10-27 00:30 UTC, 01:30 in Berlin (UTC+1 after the October change).
        AddRecentBackups();
        var folder = _job.Folder;
        var inside = AddStranger(folder, "portfolio-2026-10-27-013500.sqlite.gz");
        var outside = AddStranger(folder, "portfolio-2026-10-27-012500.sqlite.gz");

        var result = Prune(zone: berlin);

        Assert.Equal([outside], result.Deleted.Select(e => e.Path));
        Assert.True(File.Exists(inside));
    }

    [Fact]
    public void A_dry_run_reports_what_it_would_delete_and_deletes_nothing()
    {
        AddRecentBackups();
        var expired = new[] { AddBackup(Now.AddDays(-40)), AddBackup(Now.AddDays(-50), sidecar: false) };
        var before = Directory.GetFiles(_job.Folder).Order(StringComparer.Ordinal).ToList();

        var result = Prune(dryRun: true);

        Assert.True(result.DryRun);
        Assert.Equal(expired, result.Deleted.Select(e => e.Path));
        Assert.Equal(before, Directory.GetFiles(_job.Folder).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_expired_backup_is_kept_while_an_offsite_destination_that_still_wants_it_has_no_confirmed_copy()
    {
        // No ledger: nothing has been copied to the destination yet, which keeps the job's backups 90 days.
        _database.Jobs = [_job];
        _database.Offsite = [new OffsiteDestination("nas") { FolderPath = _temp.Combine("nas"), KeepDays = new Dictionary<string, int> { ["daily"] = 90 } }];
        var recent = AddRecentBackups();
        var expired = AddBackup(Now.AddDays(-40));

        var result = Prune();

        Assert.Empty(result.Deleted);
        Assert.True(File.Exists(expired));
        Assert.Equal([.. recent, expired], result.Kept.Select(e => e.Path));
    }

    [Fact]
    public void An_offsite_ledger_that_cannot_be_read_keeps_every_expired_backup()
    {
        // The destination keeps only 30 days, so a readable ledger would let the 40-day-old backup go; an unreadable
        // one cannot say which copies are confirmed, so nothing expired may go.
        var destination = new OffsiteDestination("nas") { FolderPath = _temp.Combine("nas") };
        _database.Jobs = [_job];
        _database.Offsite = [destination];
        var recent = AddRecentBackups();
        var expired = AddBackup(Now.AddDays(-40));
        Directory.CreateDirectory(OffsiteLedger.FolderOf(_database));
        File.WriteAllText(Path.Combine(OffsiteLedger.FolderOf(_database), $"{_database.Name}.{destination.Name}.json"), "{ not json");

        var result = Prune();

        Assert.Empty(result.Deleted);
        Assert.True(File.Exists(expired));
        Assert.Equal([.. recent, expired], result.Kept.Select(e => e.Path));
    }

    [Fact]
    public void Pruning_a_job_that_never_ran_finds_nothing_to_do()
    {
        var result = Prune();

        Assert.Empty(result.Kept);
        Assert.Empty(result.Deleted);
        Assert.Empty(result.Failures);
        Assert.False(Directory.Exists(_job.Folder));
    }

    [Fact]
    public void A_backup_that_cannot_be_deleted_is_reported_and_the_others_are_still_deleted()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "making a file undeletable needs root (chattr +i)");
        AddRecentBackups();
        var first = AddBackup(Now.AddDays(-40));
        var stuck = AddBackup(Now.AddDays(-41));
        var last = AddBackup(Now.AddDays(-42));
        var (ok, why) = Chattr("+i", stuck);
        Assert.SkipUnless(ok, $"chattr +i is not possible here: {why}");
        try
        {
            var result = Prune();

            var failure = Assert.Single(result.Failures);
            Assert.Contains(stuck, failure, StringComparison.Ordinal);
            Assert.Equal([first, last], result.Deleted.Select(e => e.Path));
            AssertGone(first);
            AssertGone(last);
            Assert.True(File.Exists(stuck));
            Assert.True(File.Exists(Sidecar.PathFor(stuck)), "a backup that stays keeps its sidecar");
        }
        finally
        {
            Chattr("-i", stuck);
        }
    }

    [Fact]
    public void A_sidecar_that_cannot_be_deleted_is_reported_and_the_others_are_still_deleted()
    {
        // A directory where the sidecar should be: unlink fails on it for root and non-root alike.
        AddRecentBackups();
        var first = AddBackup(Now.AddDays(-40));
        var stuck = AddBackup(Now.AddDays(-41), sidecar: false);
        Directory.CreateDirectory(Sidecar.PathFor(stuck));
        File.WriteAllText(Path.Combine(Sidecar.PathFor(stuck), "inside"), "x");
        var last = AddBackup(Now.AddDays(-42));

        var result = Prune();

        var failure = Assert.Single(result.Failures);
        Assert.Contains(stuck, failure, StringComparison.Ordinal);
        Assert.Equal([first, last], result.Deleted.Select(e => e.Path));
        AssertGone(first);
        AssertGone(last);
    }

    private static (bool Ok, string Why) Chattr(string flag, string path)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("chattr", [flag, path])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode == 0, error.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}

using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Restore;
using Cellar.Core.Status;
using Cellar.Core.Storage;
using Cellar.Demo;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.IO;

/// <summary>
/// A failed fsync is a failed operation: the bytes may not be on the disk, whatever reading them back says. Faults are
/// injected per path through <see cref="FaultInjection"/> (in this test's async flow only), at each durability point.
/// </summary>
public sealed class FsyncFaultTests : IDisposable
{
    private const int EIO = 5;
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        FaultInjection.Fsync = null;
        _temp.Dispose();
    }

    // "folder" fails every sync of the job's folder, so the run stops at its first (the run's own state); the two
    // publish points fail only the sync that makes the sidecar's name durable, or the backup's, and the name just made
    // must go again (and with the backup's, its sidecar too).
    public static TheoryData<string, string> Points => new()
    {
        { "daily", "data" }, { "daily", "sidecar" }, { "daily", "folder" }, { "daily", "sidecar-renamed" }, { "daily", "backup-renamed" },
        { "social", "data" }, { "social", "sidecar" }, { "social", "folder" }, { "social", "sidecar-renamed" }, { "social", "backup-renamed" },
    };

    [Theory]
    [MemberData(nameof(Points))]
    public async Task A_failed_fsync_fails_the_backup_names_the_file_and_leaves_nothing_under_a_final_name(string jobName, string point)
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await SetUpAsync(ct);
        var job = config.FindJob(jobName);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        var failed = new List<string>();
        FaultInjection.Fsync = path =>
        {
            var name = Path.GetFileName(path);
            var hit = point switch
            {
                "data" => name.Contains(".cellar-tmp-", StringComparison.Ordinal) && !name.Contains(".json.cellar-tmp-", StringComparison.Ordinal)
                    && !name.EndsWith(".db", StringComparison.Ordinal),
                "sidecar" => name.Contains(".json.cellar-tmp-", StringComparison.Ordinal) && !name.Contains("cellar-state", StringComparison.Ordinal),
                "sidecar-renamed" => path == job.Folder && FinalNames(job.Folder) is [var only] && only.EndsWith(".json", StringComparison.Ordinal),
                "backup-renamed" => path == job.Folder && FinalNames(job.Folder).Any(n => !n.EndsWith(".json", StringComparison.Ordinal)),
                _ => path == job.Folder,
            };
            if (hit)
            {
                lock (failed)
                {
                    failed.Add(path);
                }
            }

            return hit ? EIO : 0;
        };

        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync(jobName, null, null, ct));

        Assert.NotEmpty(failed);
        Assert.Contains("cannot sync", error.Message, StringComparison.Ordinal);
        Assert.Contains(failed[0], error.Message, StringComparison.Ordinal);
        Assert.Contains("Input/output error", error.Message, StringComparison.Ordinal);
        Assert.Empty(FinalNames(job.Folder));
        Assert.Contains("cannot sync", JobState.Read(job.Folder).LastFailureMessage, StringComparison.Ordinal);

        // The disk is fine again: the next run sweeps what is left and makes one good backup.
        FaultInjection.Fsync = null;
        var result = await runner.RunAsync(jobName, null, null, ct);
        Assert.Equal([Path.GetFileName(result.Path!), Path.GetFileName(Sidecar.PathFor(result.Path!))], FinalNames(job.Folder).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateFiles(job.Folder), f => TempFile.IsTempName(Path.GetFileName(f)));
    }

    [Fact]
    public async Task A_failed_fsync_of_the_restored_database_leaves_the_target_as_it_was()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await SetUpAsync(ct);
        var backup = (await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("daily", null, null, ct)).Path!;
        var target = _temp.Combine("restored", "portfolio.sqlite");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllTextAsync(target, "the app's current database", ct);
        var before = CliSandbox.Fingerprint(Path.GetDirectoryName(target)!);
        FaultInjection.Fsync = path => Path.GetFileName(path).StartsWith(".portfolio.sqlite.cellar-tmp-", StringComparison.Ordinal) ? EIO : 0;

        var service = new RestoreService(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<RestoreService>.Instance);
        var error = await Assert.ThrowsAsync<SyncFailedException>(() => service.RestoreAsync(backup, target, force: true, null, ct));

        Assert.Contains("cannot sync", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, CliSandbox.Fingerprint(Path.GetDirectoryName(target)!));
        CliSandbox.AssertNoTempFiles(Path.GetDirectoryName(target)!);
    }

    [Fact]
    public async Task A_restore_whose_swap_cannot_be_made_durable_puts_the_previous_database_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await SetUpAsync(ct);
        var backup = (await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("daily", null, null, ct)).Path!;
        var folder = _temp.Combine("restored");
        var target = Path.Combine(folder, "portfolio.sqlite");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(target, "the app's current database", ct);
        await File.WriteAllTextAsync(target + "-wal", "its write-ahead log", ct);
        var before = CliSandbox.Fingerprint(folder);
        FaultInjection.Fsync = path => path == folder ? EIO : 0;

        var service = new RestoreService(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<RestoreService>.Instance);
        await Assert.ThrowsAsync<SyncFailedException>(() => service.RestoreAsync(backup, target, force: true, null, ct));

        Assert.Equal(before, CliSandbox.Fingerprint(folder));
        CliSandbox.AssertNoTempFiles(folder);
    }

    [Fact]
    public async Task A_restore_to_a_new_path_whose_swap_cannot_be_made_durable_leaves_nothing_there()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await SetUpAsync(ct);
        var backup = (await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("daily", null, null, ct)).Path!;
        var folder = _temp.Combine("fresh");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, "portfolio.sqlite");
        FaultInjection.Fsync = path => path == folder ? EIO : 0;

        var service = new RestoreService(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<RestoreService>.Instance);
        await Assert.ThrowsAsync<SyncFailedException>(() => service.RestoreAsync(backup, target, force: false, null, ct));

        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public async Task A_table_restore_whose_safety_copy_cannot_be_synced_changes_nothing_and_leaves_no_copy()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await SetUpAsync(ct);
        var dump = (await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("social", null, null, ct)).Path!;
        var live = config.FindJob("social").Database.Path;
        var folder = Path.GetDirectoryName(live)!;
        var before = CliSandbox.HashOf(live);
        FaultInjection.Fsync = path => Path.GetFileName(path).Contains(".pre-restore-", StringComparison.Ordinal) ? EIO : 0;

        var service = new TableRestore(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<TableRestore>.Instance);
        await Assert.ThrowsAsync<SyncFailedException>(() => service.RestoreAsync(dump, live, ["comments"], safetyCopy: true, null, ct));

        Assert.Equal(before, CliSandbox.HashOf(live));
        Assert.Empty(Directory.EnumerateFiles(folder, "*.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(folder);
    }

    [Fact]
    public async Task A_failed_fsync_of_the_copy_in_copytruncate_never_truncates_the_live_log()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = _temp.Combine("logs");
        using var tmpfs = Environment.IsPrivilegedProcess ? await Mount.TmpfsAsync(folder, "size=16m") : null;
        Assert.SkipWhen(tmpfs is null, "needs root to mount a tmpfs, where collapse is unsupported and copytruncate is used");
        var log = Path.Combine(folder, "backend.log");
        await File.WriteAllLinesAsync(log, Enumerable.Range(0, 5000).Select(i => $"line {i:D6} of the app's log"), ct);
        var config = await SetUpAsync(ct, log);
        var job = config.FindJob("logs");
        var before = CliSandbox.HashOf(log);
        FaultInjection.Fsync = path => Path.GetFileName(path).EndsWith(".copy", StringComparison.Ordinal) ? EIO : 0;

        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("logs", null, null, ct));

        Assert.Contains("cannot sync", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, CliSandbox.HashOf(log));
        Assert.Empty(FinalNames(job.Folder));
        CliSandbox.AssertNoTempFiles(folder);
        Assert.False(File.Exists(log + ".cellar-rotating"));

        FaultInjection.Fsync = null;
        var rotation = await runner.RunAsync("logs", null, null, ct);
        Assert.Equal(5000, Assert.Single(rotation.Logs).Lines);
        Assert.Equal(0, new FileInfo(log).Length);
    }

    [Fact]
    public async Task A_failed_fsync_of_the_log_state_fails_the_rotation_before_anything_is_archived_or_cut()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("app.log");
        await File.WriteAllLinesAsync(log, Enumerable.Range(0, 20000).Select(i => $"line {i:D6} of the app's log"), ct);
        var config = await SetUpAsync(ct, log);
        var job = config.FindJob("logs");
        var before = CliSandbox.HashOf(log);
        FaultInjection.Fsync = path => Path.GetFileName(path).StartsWith("..cellar-log-", StringComparison.Ordinal) ? EIO : 0;

        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("logs", null, null, ct));

        Assert.Equal(before, CliSandbox.HashOf(log));
        Assert.Empty(FinalNames(job.Folder));
    }

    [Theory]
    [InlineData("data")]
    [InlineData("folder")]
    public async Task A_failed_fsync_in_a_folder_destination_is_a_failed_copy_and_leaves_no_object(string point)
    {
        var ct = TestContext.Current.CancellationToken;
        var root = _temp.Combine("nas");
        Directory.CreateDirectory(root);
        var store = new LocalObjectStore(root);
        FaultInjection.Fsync = path => (point == "data" ? Path.GetFileName(path).Contains(".cellar-tmp-", StringComparison.Ordinal) : path == Path.Combine(root, "daily")) ? EIO : 0;

        using var content = new MemoryStream(new byte[100_000]);
        await Assert.ThrowsAsync<SyncFailedException>(() => store.PutAsync("daily/portfolio.sqlite.gz", content, content.Length, ct));

        Assert.Empty(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories));
        Assert.Null(await store.StatAsync("daily/portfolio.sqlite.gz", ct));
    }

    /// <summary>A database with a snapshot job, a tables job and, given a log, a rotate job (copytruncate allowed).</summary>
    private async Task<CellarConfig> SetUpAsync(CancellationToken ct, string? log = null)
    {
        var database = _temp.Combine("portfolio.sqlite");
        if (!File.Exists(database))
        {
            await PortfolioDatabase.CreateAsync(database, 4L << 20, ct);
        }

        var logs = log is null ? "" : $$""", "logs": { "type": "rotate", "path": "{{log}}", "fallbacks": ["copytruncate"] }""";
        var configPath = _temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "daily": { "type": "snapshot" }, "social": { "type": "tables", "tables": ["comments", "likes"] }{{logs}} } }
            """, ct);
        return ConfigLoader.Load(configPath);
    }

    /// <summary>Files a listing, a restore or an operator would take for backups or sidecars.</summary>
    private static List<string> FinalNames(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!).ToList() : [];
}

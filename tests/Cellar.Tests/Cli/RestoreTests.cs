using System.Globalization;
using System.Text.RegularExpressions;

using Cellar.Core.Catalog;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary><c>cellar restore</c> end to end: the right backup, verified, swapped in atomically, never over a live app.</summary>
public sealed partial class RestoreTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task Restore_latest_to_a_fresh_path_gives_a_sound_database_with_the_backed_up_rows()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var target = sandbox.Combine("restored.sqlite");

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(target, run.Stdout.Trim());
        AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_onto_an_existing_file_without_force_exits_2_and_leaves_it_unchanged()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        await sandbox.BackupAsync();
        var target = sandbox.Combine("app.sqlite");
        await File.WriteAllTextAsync(target, "not the database you are looking for", TestContext.Current.CancellationToken);
        var before = CliSandbox.HashOf(target);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        CliSandbox.AssertOneLineError(run, 2, "--force");
        Assert.Equal(before, CliSandbox.HashOf(target));
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_with_force_keeps_the_old_database_and_its_wal_beside_the_restored_one()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var target = sandbox.Combine("app.sqlite");

        // The old database as a crashed app leaves it: committed rows still in its -wal.
        await using (var writer = await LoadWriterProcess.StartAsync(target, "wal", 0, TestContext.Current.CancellationToken))
        {
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        Assert.True(File.Exists(target + "-wal"), "the killed writer left no -wal; the test needs one");
        var oldMain = CliSandbox.HashOf(target);
        var oldWal = CliSandbox.HashOf(target + "-wal");

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        Assert.True(run.ExitCode == 0, run.ToString());
        var saved = Assert.Single(
            Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"),
            f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        var stamp = PreRestoreName().Match(Path.GetFileName(saved));
        Assert.True(stamp.Success, $"{saved} is not named app.sqlite.pre-restore-YYYYMMDD-HHMMSS");
        Assert.True(DateTime.TryParseExact(stamp.Groups[1].Value, "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _), saved);
        Assert.Contains(saved, run.Stderr, StringComparison.Ordinal);
        Assert.Equal(oldMain, CliSandbox.HashOf(saved));
        Assert.True(File.Exists(saved + "-wal"), "the old database's -wal was not kept with it");
        Assert.Equal(oldWal, CliSandbox.HashOf(saved + "-wal"));
        Assert.False(File.Exists(target + "-wal"), "the old -wal was left beside the restored database, where SQLite would replay it");

        AssertHoldsBackup(target, backup);
        using (var old = CliSandbox.Open(saved, readOnly: false))
        {
            Assert.True((long)CliSandbox.Scalar(old, "SELECT count(*) FROM parent")! > 0, "the kept old database lost the rows in its -wal");
        }

        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_at_a_time_picks_the_newest_backup_made_at_or_before_it()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backups = new List<string>();
        for (var generation = 1; generation <= 3; generation++)
        {
            using (var db = CliSandbox.Open(sandbox.Database, readOnly: false))
            {
                CliSandbox.Scalar(db, $"CREATE TABLE IF NOT EXISTS generation (n INTEGER NOT NULL); INSERT INTO generation VALUES ({generation});");
            }

            backups.Add(await sandbox.BackupAsync());
        }

        var created = backups.Select(b => Sidecar.TryRead(b)!.Created).ToList();
        Assert.True(created[1] < created[2], $"backups were not made in order: {string.Join(", ", created)}");
        var between = created[1] + ((created[2] - created[1]) / 2);
        var target = sandbox.Combine("restored.sqlite");

        var run = await sandbox.CellarAsync("restore", "--at", between.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture), "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(backups[1], run.Stderr, StringComparison.Ordinal);
        AssertHoldsBackup(target, backups[1]);
        using var restored = CliSandbox.Open(target);
        Assert.Equal(2L, CliSandbox.Scalar(restored, "SELECT max(n) FROM generation"));
    }

    [Fact]
    public async Task Restore_at_an_exact_backup_time_picks_that_backup()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var first = await sandbox.BackupAsync();
        await sandbox.BackupAsync();
        var exactly = Sidecar.TryRead(first)!.Created;
        var target = sandbox.Combine("restored.sqlite");

        var run = await sandbox.CellarAsync("restore", "--at", exactly.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture), "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(first, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_at_a_time_before_every_backup_fails_and_writes_nothing()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var before = Sidecar.TryRead(backup)!.Created.AddMinutes(-1);
        var target = sandbox.Combine("restored.sqlite");

        var run = await sandbox.CellarAsync("restore", "--at", before.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), "--to", target);

        CliSandbox.AssertOneLineError(run, 1, "no verified backup");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Restore_over_a_database_a_running_app_writes_to_is_refused_with_one_line()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        await sandbox.BackupAsync();
        var target = sandbox.Combine("app.sqlite");
        await using var writer = await LoadWriterProcess.StartAsync(target, "wal", 200, TestContext.Current.CancellationToken);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        CliSandbox.AssertOneLineError(run, 1, "open for writing");
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
        var stats = await writer.StopAsync(TestContext.Current.CancellationToken);
        Assert.True(stats.Commits > 0);
        using var app = CliSandbox.Open(target);
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }

    /// <summary>The file is a sound database with exactly the row counts the backup's sidecar recorded.</summary>
    private static void AssertHoldsBackup(string database, string backup)
    {
        var sidecar = Sidecar.TryRead(backup) ?? throw new InvalidOperationException($"{backup} has no sidecar");
        using var connection = CliSandbox.Open(database);
        Assert.Equal("ok", CliSandbox.Scalar(connection, "PRAGMA integrity_check"));
        Assert.NotEmpty(sidecar.RowCounts);
        foreach (var (table, rows) in sidecar.RowCounts)
        {
            Assert.Equal(rows, CliSandbox.Scalar(connection, $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\""));
        }
    }

    [GeneratedRegex(@"^app\.sqlite\.pre-restore-(\d{8}-\d{6})$")]
    private static partial Regex PreRestoreName();
}

using System.Globalization;
using System.Text.RegularExpressions;

using Cellar.Core.Catalog;
using Cellar.Core.IO;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary><c>cellar restore</c> end to end: the right backup, verified, swapped in atomically, never over a live app.</summary>
/// <remarks>Over 300 lines on purpose: each test is one promise of `cellar restore`, on the same sandbox and database.</remarks>
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
        CliSandbox.AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_onto_an_existing_file_without_force_exits_2_and_leaves_it_unchanged()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (_, target) = await sandbox.RestoreSceneAsync();
        await File.WriteAllTextAsync(target, "not the database you are looking for", TestContext.Current.CancellationToken);
        var before = CliSandbox.HashOf(target);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        CliSandbox.AssertOneLineError(run, 2, "--force");
        Assert.Equal(before, CliSandbox.HashOf(target));
        sandbox.AssertNothingRestored();
    }

    [Fact]
    public async Task Restore_with_force_keeps_the_old_database_with_the_commits_of_its_wal_beside_the_restored_one()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync();

        // The old database as a crashed app leaves it: committed rows still in its -wal. A kill that lands just after
        // one of the writer's own checkpoints leaves none there, so the writer is started again (on the same database)
        // until one is.
        for (var attempt = 0; attempt < 5 && !HasCommitsInWal(sandbox, target); attempt++)
        {
            await using var writer = await LoadWriterProcess.StartAsync(target, "wal", 0, TestContext.Current.CancellationToken);
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        Assert.True(File.Exists(target + "-wal"), "the killed writer left no -wal; the test needs one");
        var oldRows = ParentRowsOf(sandbox, target, "-wal");
        Assert.True(oldRows > ParentRowsOf(sandbox, target), "the killed writer left no commit in its -wal; the test needs one");

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        Assert.True(run.ExitCode == 0, run.ToString());
        var saved = Assert.Single(
            Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"),
            f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        var stamp = PreRestoreName().Match(Path.GetFileName(saved));
        Assert.True(stamp.Success, $"{saved} is not named app.sqlite.pre-restore-YYYYMMDD-HHMMSS");
        Assert.True(DateTime.TryParseExact(stamp.Groups[1].Value, "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _), saved);
        Assert.Contains(saved, run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(target + "-wal"), "the old -wal was left beside the restored database, where SQLite would replay it");

        // The commits of the -wal were folded into the old file before anything moved, so the kept file alone is the
        // whole old database, and so was the target at every moment before the swap.
        Assert.True(ParentRowsOf(sandbox, saved) == oldRows, "the kept file alone lacks commits that were in the old -wal");
        CliSandbox.AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    /// <summary>Whether <paramref name="database"/>'s <c>-wal</c> holds commits its main file lacks.</summary>
    private static bool HasCommitsInWal(CliSandbox sandbox, string database) =>
        File.Exists(database + "-wal") && ParentRowsOf(sandbox, database, "-wal") > ParentRowsOf(sandbox, database);

    /// <summary>Rows of the LoadWriter's <c>parent</c> table (0 before it exists) in a copy of <paramref name="database"/> and the companions named.</summary>
    private static long ParentRowsOf(CliSandbox sandbox, string database, params string[] companions)
    {
        var copy = sandbox.Combine($"look-{Guid.NewGuid():N}.sqlite");
        foreach (var suffix in companions.Prepend(""))
        {
            File.Copy(database + suffix, copy + suffix);
        }

        using var connection = CliSandbox.Open(copy, readOnly: false);
        return (long)CliSandbox.Scalar(connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'parent'")! == 0
            ? 0
            : (long)CliSandbox.Scalar(connection, "SELECT count(*) FROM parent")!;
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
        CliSandbox.AssertHoldsBackup(target, backups[1]);
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
    public async Task Restore_of_a_backup_whose_bytes_changed_is_refused_naming_the_backup_and_what_is_wrong()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);
        var target = sandbox.Combine("app.sqlite");

        var run = await sandbox.CellarAsync("restore", backup, "--to", target);

        CliSandbox.AssertOneLineError(run, 1, $"refusing to restore {backup}: ");
        Assert.False(File.Exists(target));
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
        var (_, target) = await sandbox.RestoreSceneAsync();
        await using var writer = await LoadWriterProcess.StartAsync(target, "wal", 200, TestContext.Current.CancellationToken);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        CliSandbox.AssertOneLineError(run, 1, "open for writing");
        sandbox.AssertNothingRestored();
        var stats = await writer.StopAsync(TestContext.Current.CancellationToken);
        Assert.True(stats.Commits > 0);
        using var app = CliSandbox.Open(target);
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }

    [Fact]
    public async Task Restore_where_the_database_was_deleted_but_its_wal_left_moves_the_stale_wal_aside_instead_of_replaying_it()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync();
        await using (await LoadWriterProcess.StartAsync(target, "wal", 0, ct))
        {
            await Task.Delay(300, ct); // then killed: committed rows still in the -wal
        }

        Assert.True(File.Exists(target + "-wal"), "the killed writer left no -wal; the test needs one");
        File.Delete(target); // the operator removes the damaged database, not its -wal
        var oldWal = CliSandbox.HashOf(target + "-wal");

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(File.Exists(target + "-wal"), "the stale -wal was left beside the restored database, where SQLite would replay it");
        Assert.False(File.Exists(target + "-shm"), "the stale -shm was left beside the restored database");
        var keptWal = Assert.Single(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*-wal"));
        Assert.Equal(oldWal, CliSandbox.HashOf(keptWal));
        Assert.Contains(keptWal, await File.ReadAllTextAsync(Path.Combine(sandbox.LogDir, "backup.log"), ct), StringComparison.Ordinal);
        CliSandbox.AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_where_a_running_app_still_writes_its_deleted_database_is_refused_with_one_line()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (_, target) = await sandbox.RestoreSceneAsync();
        await using var writer = await LoadWriterProcess.StartAsync(target, "wal", 200, ct);
        File.Delete(target); // the app keeps writing to the unlinked file and to its -wal

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        CliSandbox.AssertOneLineError(run, 1, "open for writing");
        Assert.False(File.Exists(target), "a database was restored under a running app");
        Assert.True(File.Exists(target + "-wal"), "the running app's -wal was moved");
        sandbox.AssertNothingRestored();
        var stats = await writer.StopAsync(ct);
        Assert.True(stats.Commits > 0);
    }

    [Fact]
    public async Task Restore_through_a_symlinked_folder_is_refused_while_an_app_writes_the_real_file()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        await sandbox.BackupAsync();
        var real = sandbox.Combine("volume");
        Directory.CreateDirectory(real);
        var linked = sandbox.Combine("appdata");
        Directory.CreateSymbolicLink(linked, real);
        await using var writer = await LoadWriterProcess.StartAsync(Path.Combine(real, "app.sqlite"), "wal", 200, ct);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", Path.Combine(linked, "app.sqlite"), "--force");

        CliSandbox.AssertOneLineError(run, 1, "open for writing");
        Assert.Empty(Directory.EnumerateFiles(real, "app.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
        var stats = await writer.StopAsync(ct);
        using var app = CliSandbox.Open(Path.Combine(real, "app.sqlite"));
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }

    [Fact]
    public async Task Restore_removes_the_temp_files_a_killed_restore_to_the_same_file_left()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var target = sandbox.Combine("data", "restored.sqlite");
        string[] leftovers = [sandbox.Combine("data", ".restored.sqlite.cellar-tmp-0123abcd"), sandbox.Combine("data", ".restored.sqlite.cellar-tmp-0123abcd-journal")];
        foreach (var leftover in leftovers)
        {
            await File.WriteAllBytesAsync(leftover, new byte[1 << 20], ct);
        }

        // Not this restore's: another file's temp, and a name that only resembles one.
        var unrelated = new[] { sandbox.Combine("data", ".other.sqlite.cellar-tmp-89abcdef"), sandbox.Combine("data", ".restored.sqlite.cellar-tmp-notes") };
        foreach (var file in unrelated)
        {
            await File.WriteAllTextAsync(file, "not ours", ct);
        }

        var run = await sandbox.CellarAsync("restore", backup, "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        CliSandbox.AssertHoldsBackup(target, backup);
        Assert.All(leftovers, f => Assert.False(File.Exists(f), $"{f} was left"));
        Assert.All(unrelated, f => Assert.True(File.Exists(f), $"{f} was removed"));
    }

    [Fact]
    public async Task Restore_killed_at_any_moment_leaves_a_sound_database_at_the_target_and_the_next_one_cleans_up()
    {
        const int Kills = 8;
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true);
        string[] args = ["--config", sandbox.ConfigPath, "restore", backup, "--to", target, "--force"];

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = await sandbox.CellarAsync(args[2..]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var typical = clock.Elapsed;
        var seed = Environment.TickCount;
        TestContext.Current.TestOutputHelper?.WriteLine($"typical restore {typical.TotalMilliseconds:0} ms; random seed {seed}");
        var random = new Random(seed);
        for (var kill = 0; kill < Kills; kill++)
        {
            using var process = CellarProcess.Start(args);
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * typical.TotalMilliseconds), ct);
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It finished first.
            }

            await process.WaitForExitAsync(ct);
            await stdout;
            await stderr;
            Assert.True(File.Exists(target), $"kill {kill} left no database at {target}");
            using var db = CliSandbox.Open(target);
            Assert.Equal("ok", CliSandbox.Scalar(db, "PRAGMA integrity_check"));
        }

        var last = await sandbox.CellarAsync(args[2..]);
        Assert.True(last.ExitCode == 0, last.ToString());
        CliSandbox.AssertHoldsBackup(target, backup);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restored_database_gets_the_owner_group_and_mode_of_the_file_it_replaces()
    {
        Assert.SkipUnless(UnixFiles.IsRoot, "only root can hand files to another user");
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (backup, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true);
        await ExecOkAsync("chown", "1234:2345", target);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var run = await sandbox.CellarAsync("restore", backup, "--to", target, "--force");

        Assert.True(run.ExitCode == 0, run.ToString());
        CliSandbox.AssertHoldsBackup(target, backup);
        Assert.Equal("1234:2345:640", await OwnerOfAsync(target));
        var saved = Assert.Single(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        Assert.Equal("1234:2345:640", await OwnerOfAsync(saved));
    }

    [Fact]
    public async Task Restored_database_in_a_fresh_place_belongs_to_the_folders_owner_and_group_with_mode_0600()
    {
        Assert.SkipUnless(UnixFiles.IsRoot, "only root can hand files to another user");
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var folder = sandbox.Combine("appdata");
        Directory.CreateDirectory(folder);
        await ExecOkAsync("chown", "1234:2345", folder);
        var target = Path.Combine(folder, "app.sqlite");

        var run = await sandbox.CellarAsync("restore", backup, "--to", target);

        Assert.True(run.ExitCode == 0, run.ToString());
        CliSandbox.AssertHoldsBackup(target, backup);
        Assert.Equal("1234:2345:600", await OwnerOfAsync(target));
    }

    [Fact]
    public async Task Restore_by_an_unprivileged_user_succeeds_and_logs_that_some_processes_could_not_be_checked_for_writing()
    {
        Assert.SkipUnless(UnixFiles.IsRoot, "needs root to run cellar as another user");
        Assert.SkipUnless(File.Exists("/usr/bin/setpriv"), "needs setpriv (util-linux) to run cellar as another user");
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var target = sandbox.Combine("data", "restored.sqlite");
        await ExecOkAsync("chown", "-R", "65534:65534", sandbox.Root);

        // This test's own process (root's) is one that user cannot look into.
        var (exit, output) = await CliSandbox.ExecAsync(
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
            CellarProcess.DotnetHost(), CellarProcess.DllPath, "--config", sandbox.ConfigPath, "restore", backup, "--to", target);

        Assert.True(exit == 0, output);
        CliSandbox.AssertHoldsBackup(target, backup);
        Assert.Equal("65534:65534:600", await OwnerOfAsync(target));
        var log = await File.ReadAllTextAsync(Path.Combine(sandbox.LogDir, "backup.log"), ct);
        var warning = Assert.Single(log.Split('\n'), l => l.Contains("could not inspect", StringComparison.Ordinal));
        Assert.Contains("not running as root", warning, StringComparison.Ordinal);
    }

    private static async Task ExecOkAsync(string program, params string[] args)
    {
        var (exit, output) = await CliSandbox.ExecAsync(program, args);
        Assert.True(exit == 0, $"{program} {string.Join(' ', args)}: {output}");
    }

    /// <summary>"uid:gid:mode" as coreutils' stat prints them.</summary>
    private static async Task<string> OwnerOfAsync(string path)
    {
        var (exit, output) = await CliSandbox.ExecAsync("stat", "-c", "%u:%g:%a", path);
        Assert.True(exit == 0, output);
        return output;
    }

    [GeneratedRegex(@"^app\.sqlite\.pre-restore-(\d{8}-\d{6})$")]
    private static partial Regex PreRestoreName();
}

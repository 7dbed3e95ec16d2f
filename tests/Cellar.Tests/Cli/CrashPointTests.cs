using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Cellar.Core.IO;
using Cellar.Tests.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>cellar</c> killed by SIGKILL (as a power cut or the OOM killer would: no cleanup runs) at each named point between
/// two durability steps of <c>run</c>, <c>restore</c> and a log rotation (<see cref="CrashPoint"/>): what is left is the
/// old state or the complete new one, never something that looks valid and is not, and the next run settles the rest.
/// Random kills (<see cref="CrashTests"/>) almost never land in the microseconds between a sidecar and a rename; these do.
/// </summary>
/// <remarks>Over 300 lines on purpose: one test per crash point, all sharing the kill-and-inspect helpers at the end.</remarks>
public sealed class CrashPointTests
{
    private const long DatabaseBytes = 1L << 20;
    private const int LinesBefore = 20_000;
    private const int LinesAfter = 1_000;

    public static TheoryData<string, string> RunPoints => new()
    {
        { "daily", CrashPoint.SnapshotCopied },
        { "daily", CrashPoint.BackupWritten },
        { "daily", CrashPoint.PublishStart },
        { "daily", CrashPoint.SidecarWritten },
        { "daily", CrashPoint.Published },
        { "daily", CrashPoint.PruneStart },
        { "social", CrashPoint.SidecarWritten },
    };

    /// <summary>Each point of a snapshot restore, and which database the target must hold after a kill there.</summary>
    public static TheoryData<string, string> RestorePoints => new()
    {
        { CrashPoint.VerifyExpanded, "old" },
        { CrashPoint.RestorePreviousKept, "old" },
        { CrashPoint.RestoreCompanionsMoved, "old" },
        { CrashPoint.RestoreSwapped, "new" },
    };

    /// <summary>Each point of a rotation, by the method that reaches it.</summary>
    public static TheoryData<string, string> RotatePoints => new()
    {
        { "collapse", CrashPoint.PublishStart },
        { "collapse", CrashPoint.SidecarWritten },
        { "collapse", CrashPoint.Published },
        { "collapse", CrashPoint.RotateCollapsePending },
        { "collapse", CrashPoint.RotateCollapsed },
        { "copytruncate", CrashPoint.RotateCopied },
        { "copytruncate", CrashPoint.RotateTruncated },
        { "signal", CrashPoint.RotateRenamed },
    };

    [Fact]
    public void Every_crash_point_has_a_test_that_kills_there()
    {
        var covered = RunPoints.Select(row => row.Data.Item2)
            .Concat(RestorePoints.Select(row => row.Data.Item1))
            .Concat(RotatePoints.Select(row => row.Data.Item2))
            .ToHashSet(StringComparer.Ordinal);

        Assert.All(CrashPoint.All, point => Assert.True(covered.Contains(point), $"no test kills cellar at {point}"));
    }

    [Theory]
    [MemberData(nameof(RunPoints))]
    public async Task A_run_killed_at_a_crash_point_leaves_the_old_backups_or_a_complete_verified_new_one(string job, string point)
    {
        CrashPoints.SkipUnlessHonoured();
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var folder = Path.Combine(sandbox.BackupRoot, job);
        await sandbox.BackupAsync(job);
        var before = CliSandbox.Fingerprint(folder);

        var crashed = await CliSandbox.RunAsync(["--config", sandbox.ConfigPath, "run", job], CrashPoints.CrashAt(point));

        CrashPoints.AssertKilledAt(crashed, point);
        var after = CliSandbox.Fingerprint(folder);
        foreach (var (name, hash) in before)
        {
            Assert.True(after.TryGetValue(name, out var now) && now == hash, $"the older backup {name} changed or went");
        }

        // Under a final name: the old backups, and at most a new backup with its sidecar that verifies (after the rename)
        // or a sidecar alone (before it), which nothing lists and the next run sweeps.
        var added = after.Keys.Except(before.Keys).ToList();
        var backups = added.Where(name => !name.EndsWith(".json", StringComparison.Ordinal)).ToList();
        foreach (var backup in backups)
        {
            Assert.True(after.ContainsKey(backup + ".json"), $"{backup} has a final name but no sidecar");
        }

        var published = point is CrashPoint.Published or CrashPoint.PruneStart;
        Assert.Equal(published ? 1 : 0, backups.Count);
        var verify = await sandbox.CellarAsync("verify");
        Assert.True(verify.ExitCode == 0, $"after a kill at {point}, a listed backup does not verify: {verify}");

        await sandbox.BackupAsync(job);

        CliSandbox.AssertNoTempFiles(sandbox.BackupRoot);
        var orphans = Directory.EnumerateFiles(folder, "*.json").Where(f => !Path.GetFileName(f).StartsWith('.') && !File.Exists(f[..^".json".Length]));
        Assert.Empty(orphans);
        // A run killed after it recorded its success (only retention was left to do) was not interrupted in its work.
        var log = await File.ReadAllTextAsync(Path.Combine(sandbox.LogDir, "backup.log"), TestContext.Current.CancellationToken);
        Assert.Equal(point != CrashPoint.PruneStart, log.Contains("interrupted: the run started at", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RestorePoints))]
    public async Task A_restore_killed_at_a_crash_point_leaves_the_old_or_the_new_database_never_a_mix(string point, string expected)
    {
        CrashPoints.SkipUnlessHonoured();
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var folder = sandbox.Combine("app");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, "portfolio.sqlite");
        await MakeOldDatabaseWithLiveWalAsync(sandbox.Database, target);
        var old = await ContentOfAsync(sandbox, target, ct);
        var expanded = sandbox.Combine("backup.sqlite");
        await GunzipAsync(backup, expanded, ct);
        var restored = await ContentOfAsync(sandbox, expanded, ct);
        Assert.NotEqual(old, restored);
        string[] restore = ["--config", sandbox.ConfigPath, "restore", backup, "--to", target, "--force"];

        using (var watch = new NameWatch(target))
        {
            CrashPoints.AssertKilledAt(await CliSandbox.RunAsync(restore, CrashPoints.CrashAt(point)), point);
            await watch.AssertTargetNeverWentAsync(ct);
        }

        Assert.True(File.Exists(target), $"a kill at {point} left no database at {target}");
        Assert.True(await ContentOfAsync(sandbox, target, ct) == (expected == "old" ? old : restored), $"after a kill at {point} the target does not hold the {expected} database");
        foreach (var kept in PreRestoreFiles(folder))
        {
            Assert.True(await ContentOfAsync(sandbox, kept, ct) == old, $"{kept} does not hold the whole old database");
        }

        using (var watch = new NameWatch(target))
        {
            var next = await CliSandbox.RunAsync(restore);
            Assert.True(next.ExitCode == 0, next.ToString());
            await watch.AssertTargetNeverWentAsync(ct);
        }

        Assert.Equal(restored, await ContentOfAsync(sandbox, target, ct));
        CliSandbox.AssertNoTempFiles(folder);
        Assert.False(File.Exists(target + "-wal"), "a -wal is beside the restored database, where SQLite would replay it");
        foreach (var kept in PreRestoreFiles(folder))
        {
            Assert.Contains(await ContentOfAsync(sandbox, kept, ct), new[] { old, restored });
        }
    }

    [Theory]
    [MemberData(nameof(RotatePoints))]
    public async Task A_rotation_killed_at_a_crash_point_neither_loses_nor_repeats_a_line(string method, string point)
    {
        CrashPoints.SkipUnlessHonoured();
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempFolder();
        using var logs = await LogFolder.CreateAsync(temp, collapses: method == "collapse");
        var log = Path.Combine(logs.Path, "backend.log");
        var pidFile = method == "signal" ? temp.Combine("backend.pid") : null;
        var job = LogJobs.WriteConfig(temp, [log], pidFile).FindJob("logs");
        string[] rotate = ["--config", temp.Combine("cellar.json"), "run", "logs"];

        // The signal method needs an app that reopens its log; the others are shown a log the app appends to between runs.
        await using var writer = pidFile is null ? null : await LogWriterProcess.StartAsync(log, ct, "--reopen-on-hup", "--pid-file", pidFile, "--rate", "20000");
        if (writer is null)
        {
            await AppendLinesAsync(log, 0, LinesBefore, ct);
        }

        CrashPoints.AssertKilledAt(await CliSandbox.RunAsync(rotate, CrashPoints.CrashAt(point)), point);
        if (writer is null)
        {
            await AppendLinesAsync(log, LinesBefore, LinesAfter, ct);
        }

        var next = await CliSandbox.RunAsync(rotate);

        Assert.True(next.ExitCode == 0, next.ToString());
        var lines = writer is null ? LinesBefore + LinesAfter : (await writer.StopAsync(ct)).Lines;
        Assert.All(Directory.EnumerateFiles(job.Folder, "*.gz"), archive => Assert.True(File.Exists(archive + ".json"), $"{archive} has a final name but no sidecar"));
        LogJobs.AssertEveryLineOnce(job, log, lines);
        Assert.False(File.Exists(log + ".cellar-rotating"), $"{log}.cellar-rotating is left after the next rotation");
        CliSandbox.AssertNoTempFiles(job.Folder);
        CliSandbox.AssertNoTempFiles(logs.Path);
    }

    /// <summary>
    /// The app's database as an app killed mid-stream leaves it, other than the backup: a row checkpointed into the
    /// file, and a later commit only in its <c>-wal</c>. Without the <c>-wal</c> the file is neither old nor new.
    /// </summary>
    private static async Task MakeOldDatabaseWithLiveWalAsync(string source, string target)
    {
        File.Copy(source, target);
        await SqliteOkAsync(target, "PRAGMA journal_mode=WAL;", "CREATE TABLE crash_marker (note TEXT);", "INSERT INTO crash_marker VALUES ('in the file');");
        await SqliteOkAsync(target, ".dbconfig no_ckpt_on_close on", "INSERT INTO crash_marker VALUES ('only in the -wal');");
        Assert.True(new FileInfo(target + "-wal") is { Exists: true, Length: > 0 }, "sqlite3 left no -wal; the test needs one");
    }

    private static async Task SqliteOkAsync(string database, params string[] commands)
    {
        var (code, output) = await CliSandbox.ExecAsync("sqlite3", [database, .. commands]);
        Assert.True(code == 0, $"sqlite3 failed: {output}");
    }

    /// <summary>
    /// SHA-256 of <c>sqlite3 .dump</c> of the database at <paramref name="path"/> as an app opening it would see it (its
    /// <c>-wal</c> and <c>-journal</c> included), read from a copy so the look changes nothing.
    /// </summary>
    private static async Task<string> ContentOfAsync(CliSandbox sandbox, string path, CancellationToken ct)
    {
        var scratch = sandbox.Combine("look-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        var copy = Path.Combine(scratch, "db.sqlite");
        foreach (var suffix in new[] { "", "-wal", "-journal" })
        {
            if (File.Exists(path + suffix))
            {
                File.Copy(path + suffix, copy + suffix);
            }
        }

        var (code, dump) = await CliSandbox.ExecAsync("sqlite3", copy, ".dump");
        Directory.Delete(scratch, recursive: true);
        Assert.True(code == 0 && dump.EndsWith("COMMIT;", StringComparison.Ordinal), $"sqlite3 .dump of {path} failed: {(dump.Length > 300 ? dump[^300..] : dump)}");
        ct.ThrowIfCancellationRequested();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dump)));
    }

    private static async Task GunzipAsync(string path, string target, CancellationToken ct)
    {
        await using var input = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        await using var output = File.Create(target);
        await input.CopyToAsync(output, ct);
    }

    /// <summary>The kept previous databases (<c>NAME.pre-restore-…</c>), without their companions.</summary>
    private static IEnumerable<string> PreRestoreFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*.pre-restore-*").Where(f => !RestoreCompanion(f)).ToList();

    private static bool RestoreCompanion(string path) =>
        path.EndsWith("-wal", StringComparison.Ordinal) || path.EndsWith("-shm", StringComparison.Ordinal) || path.EndsWith("-journal", StringComparison.Ordinal);

    /// <summary>Appends lines <c>first</c> … <c>first+count-1</c>, numbered as <see cref="LogWriterProcess"/> numbers them.</summary>
    private static async Task AppendLinesAsync(string log, int first, int count, CancellationToken ct)
    {
        var text = new StringBuilder();
        for (var i = first; i < first + count; i++)
        {
            text.Append(i.ToString("D10", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }

        await File.AppendAllTextAsync(log, text.ToString(), ct);
    }

    /// <summary>
    /// Every moment a restore leaves the target's name without a database (a delete of it, a rename of it away) is a
    /// moment a crash leaves none there; inotify reports each one, however short.
    /// </summary>
    private sealed class NameWatch : IDisposable
    {
        private const string Sentinel = ".crash-point-test-sentinel";
        private readonly FileSystemWatcher _watcher;
        private readonly ConcurrentQueue<string> _gone = new();
        private readonly TaskCompletionSource _sentinel = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly string _folder;

        public NameWatch(string target)
        {
            _folder = Path.GetDirectoryName(target)!;
            var name = Path.GetFileName(target);
            _watcher = new FileSystemWatcher(_folder) { NotifyFilter = NotifyFilters.FileName, IncludeSubdirectories = false };
            _watcher.Deleted += (_, e) => Note(e.Name == name, $"{name} was deleted");
            _watcher.Renamed += (_, e) => Note(e.OldName == name, $"{name} was renamed to {e.Name}");
            _watcher.Created += (_, e) =>
            {
                if (e.Name == Sentinel)
                {
                    _sentinel.TrySetResult();
                }
            };
            _watcher.Error += (_, e) => Note(true, $"inotify lost events: {e.GetException().Message}");
            _watcher.EnableRaisingEvents = true;
        }

        /// <summary>Asserts nothing removed the target's name; events come in order, so once a file made now is seen, all earlier ones were.</summary>
        public async Task AssertTargetNeverWentAsync(CancellationToken ct)
        {
            var sentinel = Path.Combine(_folder, Sentinel);
            await File.WriteAllBytesAsync(sentinel, [], ct);
            await _sentinel.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            File.Delete(sentinel);
            Assert.True(_gone.IsEmpty, $"the target's name stopped naming a database: {string.Join("; ", _gone)}");
        }

        public void Dispose() => _watcher.Dispose();

        private void Note(bool gone, string what)
        {
            if (gone)
            {
                _gone.Enqueue(what);
            }
        }
    }

    /// <summary>
    /// A folder for the live log: on the test's own filesystem where collapse is wanted (ext4 here), else on tmpfs, which
    /// cannot collapse and so makes rotation use its fallbacks (a tmpfs mounted for the test as root, or /dev/shm).
    /// </summary>
    private sealed class LogFolder(string path, IDisposable? mount) : IDisposable
    {
        public string Path { get; } = path;

        public static async Task<LogFolder> CreateAsync(TempFolder temp, bool collapses)
        {
            var folder = temp.Combine("logs");
            if (collapses)
            {
                Directory.CreateDirectory(folder);
                return new LogFolder(folder, null);
            }

            if (Environment.IsPrivilegedProcess && await Mount.TmpfsAsync(folder, "size=1g") is { } mount)
            {
                return new LogFolder(folder, mount);
            }

            Assert.SkipUnless(Directory.Exists("/dev/shm"), "no tmpfs to put a log on that cannot collapse");
            return new LogFolder(Directory.CreateDirectory(System.IO.Path.Combine("/dev/shm", "cellar-test-" + Guid.NewGuid().ToString("N"))).FullName, null);
        }

        public void Dispose()
        {
            if (mount is not null)
            {
                mount.Dispose();
            }
            else if (Path.StartsWith("/dev/shm/", StringComparison.Ordinal))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
    }
}

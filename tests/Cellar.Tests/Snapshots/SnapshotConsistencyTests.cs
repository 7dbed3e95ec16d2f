using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Dumps;
using Cellar.Core.Jobs;
using Cellar.Core.Snapshots;
using Cellar.Core.Artifacts;
using Cellar.Core.Verification;
using Cellar.Tests.Support;

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

using SQLitePCL;

using Xunit;

namespace Cellar.Tests.Snapshots;

/// <summary>
/// A backup is a consistent point-in-time copy of the live database while the app keeps writing to it: the
/// LoadWriter child process plays the app, committing parent/child rows n = 1, 2, 3, … (one pair per
/// transaction), and every backup must hold exactly rows 1..k of both tables for some k, in WAL and in
/// rollback-journal mode alike. Backups go through the real job runner, on the real filesystem.
/// </summary>
/// <remarks>Over 300 lines on purpose: each test is one way the app writes while the snapshot runs, all checked by the same prefix invariant.</remarks>
public sealed class SnapshotConsistencyTests(PortfolioTemplate template) : IClassFixture<PortfolioTemplate>, IDisposable
{
    private const string JobName = "snap";
    private const string DumpJobName = "dump";
    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Generous bound on any one backup, so a hang fails the test instead of stalling the run.</summary>
    private static readonly TimeSpan BackupTimeout = TimeSpan.FromSeconds(120);

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task Backups_taken_during_writes_each_hold_a_growing_committed_prefix(string journal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("app.db");
        JobRunner runner = NewRunner(WriteConfig(db, "gzip"));
        using CancellationTokenSource timeout = Bounded(ct);

        await using LoadWriterProcess writer = await LoadWriterProcess.StartAsync(db, journal, rate: 0, ct);
        var prefixes = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            // Lets the writer commit past the previous snapshot, so each snapshot has something new to catch.
            await WaitUntilCommittedBeyondAsync(db, prefixes.LastOrDefault(), timeout.Token);

            JobOutcome result = await runner.RunAsync(JobName, tag: null, progress: null, timeout.Token);

            prefixes.Add(AssertCommittedPrefix(Gunzip(result.Path!)));
            AssertWritersHeldOffReported(result, journal);
        }

        LoadWriterStats stats = await writer.StopAsync(ct);

        Assert.Equal(0, stats.BusyErrors);
        for (int i = 1; i < prefixes.Count; i++)
        {
            Assert.True(prefixes[i] > prefixes[i - 1], $"snapshot {i + 1} holds rows 1..{prefixes[i]}, not more than snapshot {i}'s 1..{prefixes[i - 1]}");
        }

        Assert.InRange(prefixes[^1], 1, stats.LastN);
    }

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task Table_dumps_taken_during_writes_never_hold_a_child_without_its_parent(string journal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("app.db");
        JobRunner runner = NewRunner(WriteConfig(db, "gzip", withDump: true));
        using CancellationTokenSource timeout = Bounded(ct);

        // The writer commits parent n and child n together; a dump that read the two tables at different moments
        // would catch children whose parents it had already passed.
        await using LoadWriterProcess writer = await LoadWriterProcess.StartAsync(db, journal, rate: 0, ct);
        var prefixes = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            await WaitUntilCommittedBeyondAsync(db, prefixes.LastOrDefault(), timeout.Token);

            JobOutcome result = await runner.RunAsync(DumpJobName, tag: null, progress: null, timeout.Token);

            string loaded = _temp.Combine($"loaded-{i}.db");
            using (SqliteConnection connection = Open(loaded))
            using (FileStream file = File.OpenRead(result.Path!))
            using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            {
                SqlScript.Run(gzip, connection, null, timeout.Token);
            }

            prefixes.Add(AssertCommittedPrefix(loaded));
            Assert.Equal(prefixes[^1], result.Sidecar!.RowCounts["child"]);
            AssertWritersHeldOffReported(result, journal, dump: true);
        }

        LoadWriterStats stats = await writer.StopAsync(ct);

        Assert.Equal(0, stats.BusyErrors);
        Assert.True(prefixes[^1] > prefixes[0], $"the dumps did not follow the writer: {string.Join(", ", prefixes)}");
    }

    [Fact]
    public async Task Backup_of_a_wal_database_includes_commits_not_yet_checkpointed_and_expands_into_a_wal_database()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("app.db");
        JobRunner runner = NewRunner(WriteConfig(db, "gzip"));
        using CancellationTokenSource timeout = Bounded(ct);

        // Kept open for the whole test: closing the last connection would checkpoint the WAL into the main file.
        using SqliteConnection app = Open(db);
        Assert.Equal("wal", Scalar<string>(app, "PRAGMA journal_mode=WAL"));
        Execute(app, "PRAGMA wal_autocheckpoint=0");
        Execute(app, "CREATE TABLE item(id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
        InsertItems(app, from: 1, count: 100);
        Execute(app, "PRAGMA wal_checkpoint(TRUNCATE)");
        for (int batch = 0; batch < 9; batch++)
        {
            InsertItems(app, from: 101 + (batch * 100), count: 100);
        }

        var wal = new FileInfo(db + "-wal");
        Assert.True(wal.Exists && wal.Length > 0, "the -wal file should hold the last 900 rows");

        // The main file on its own has only the checkpointed rows: the other 900 exist only in the -wal.
        string mainOnly = _temp.Combine("main-file-only.db");
        File.Copy(db, mainOnly);
        using (SqliteConnection copy = Open(mainOnly))
        {
            Assert.Equal(100, Scalar<long>(copy, "SELECT count(*) FROM item"));
        }

        JobOutcome result = await runner.RunAsync(JobName, tag: null, progress: null, timeout.Token);

        // Even expanded by gunzip alone, the backup is a WAL database as the app's was, so it behaves as before.
        using SqliteConnection backup = Open(Gunzip(result.Path!));
        Assert.Equal("wal", Scalar<string>(backup, "PRAGMA journal_mode"));
        Assert.Equal("ok", Scalar<string>(backup, "PRAGMA integrity_check"));
        Assert.Equal(1000, Scalar<long>(backup, "SELECT count(*) FROM item"));
        Assert.Equal(1000, Scalar<long>(backup, "SELECT max(id) FROM item"));
        Assert.Equal(1000, result.Sidecar!.RowCounts["item"]);
    }

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task Snapshot_of_a_busy_database_completes_without_failing_a_single_app_commit(string journal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("portfolio.db");
        await template.CopyToAsync(db, ct);
        JobRunner runner = NewRunner(WriteConfig(db, "gzip"));
        using CancellationTokenSource timeout = Bounded(ct);

        // The writer adds its parent/child tables to the portfolio and switches it to the journal mode under test.
        await using LoadWriterProcess writer = await LoadWriterProcess.StartAsync(db, journal, rate: 500, ct);
        JobOutcome result = await runner.RunAsync(JobName, tag: null, progress: null, timeout.Token);
        LoadWriterStats stats = await writer.StopAsync(ct);

        Assert.Equal(0, stats.BusyErrors);
        Assert.Equal(journal, result.Sidecar!.JournalMode);
        Assert.True(result.Sidecar!.SourceBytes >= PortfolioTemplate.TargetBytes, $"snapshot is only {result.Sidecar!.SourceBytes} bytes");
        AssertWritersHeldOffReported(result, journal);

        VerificationResult verification = await BackupVerifier.VerifyAsync(result.Path!, null, TimeProvider.System, null, null, timeout.Token);
        Assert.True(verification.Ok, string.Join("; ", verification.Problems));

        long k = AssertCommittedPrefix(Gunzip(result.Path!));
        Assert.InRange(k, 1, stats.LastN);
        Assert.True(result.Sidecar!.RowCounts["images"] > 0, "the portfolio's images are missing from the snapshot");
    }

    /// <remarks>
    /// A rollback-journal database is always copied; a WAL one is read where it lies, and copied only when that cannot be
    /// done (InPlaceSnapshotTests covers that copy).
    /// </remarks>
    [Theory]
    [InlineData("delete")]
    public async Task Snapshot_copied_in_many_steps_while_the_app_commits_at_full_rate_never_restarts_and_holds_a_committed_prefix(string journal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("portfolio.db");
        await template.CopyToAsync(db, ct);
        JobRunner runner = NewRunner(WriteConfig(db, "gzip"));
        using CancellationTokenSource timeout = Bounded(ct);

        // About 200 steps of 32 pages for the template's 6,000: the app commits between every two of them. The
        // backup API restarts a copy whenever another connection commits between its steps; only the copy's own
        // read transaction stops that, so each step must take the copy further, and the copy must end.
        SqliteSnapshot.PagesPerStep = 32;
        var steps = new List<double>();
        string? restarted = null;
        var progress = new SynchronousProgress(p =>
        {
            if (p.Stage != "snapshot")
            {
                return;
            }

            if (steps.Count > 0 && p.Fraction <= steps[^1])
            {
                // Left to itself, a restarting copy runs until the timeout: stop it at the first restart instead.
                restarted ??= $"the copy went back from {steps[^1]:P1} to {p.Fraction:P1} after {steps.Count} steps";
                timeout.Cancel();
            }

            steps.Add(p.Fraction);
        });

        await using LoadWriterProcess writer = await LoadWriterProcess.StartAsync(db, journal, rate: 0, ct);
        JobOutcome? result = null;
        try
        {
            result = await runner.RunAsync(JobName, tag: null, progress, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            restarted ??= $"the copy did not finish within {BackupTimeout.TotalSeconds} s ({steps.Count} steps reported)";
        }

        LoadWriterStats stats = await writer.StopAsync(ct);

        Assert.True(restarted is null, restarted);
        Assert.NotNull(result);
        Assert.True(steps.Count >= 100, $"the copy took only {steps.Count} steps");
        Assert.Equal(1, steps[^1]);
        Assert.Equal(0, stats.BusyErrors);
        Assert.Equal(journal, result.Sidecar!.JournalMode);
        long k = AssertCommittedPrefix(Gunzip(result.Path!));
        Assert.InRange(k, 1, stats.LastN);
    }

    [Theory]
    [InlineData("gzip", "gunzip")]
    [InlineData("zstd", "zstd")]
    public async Task Compressed_backup_expands_with_the_standard_tool_into_a_database_sqlite3_accepts(string compression, string tool)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string toolPath = FindOnPath(tool) ?? SkipBecauseMissing(tool);
        string sqlite3 = FindOnPath("sqlite3") ?? SkipBecauseMissing("sqlite3");

        // Incompressible rows over several 4 MB blocks, so the file is several gzip members / zstd frames.
        string db = _temp.Combine("app.db");
        const int Rows = 160;
        using (SqliteConnection app = Open(db))
        {
            Execute(app, "CREATE TABLE blob(id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
            using SqliteTransaction transaction = app.BeginTransaction();
            using SqliteCommand insert = app.CreateCommand();
            insert.CommandText = "INSERT INTO blob(data) VALUES ($data)";
            SqliteParameter data = insert.Parameters.Add("$data", SqliteType.Blob);
            for (int i = 0; i < Rows; i++)
            {
                data.Value = RandomNumberGenerator.GetBytes(64 * 1024);
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        JobRunner runner = NewRunner(WriteConfig(db, compression));
        using CancellationTokenSource timeout = Bounded(ct);
        JobOutcome result = await runner.RunAsync(JobName, tag: null, progress: null, timeout.Token);
        Assert.EndsWith(compression == "gzip" ? ".sqlite.gz" : ".sqlite.zst", result.Path!, StringComparison.Ordinal);

        string expanded = _temp.Combine("expanded.sqlite");
        ToolRun decompress = await RunToolAsync(toolPath, ["-d", "-c", result.Path!], expanded, timeout.Token);
        Assert.True(decompress.ExitCode == 0, $"{tool} failed: {decompress}");
        Assert.Equal(result.Sidecar!.SourceBytes, new FileInfo(expanded).Length);

        ToolRun integrity = await RunToolAsync(sqlite3, ["-batch", expanded, "PRAGMA integrity_check"], null, timeout.Token);
        Assert.True(integrity.ExitCode == 0, $"sqlite3 failed: {integrity}");
        Assert.Equal("ok", integrity.Stdout.Trim());

        ToolRun count = await RunToolAsync(sqlite3, ["-batch", expanded, "SELECT count(*) FROM blob"], null, timeout.Token);
        Assert.Equal(Rows.ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
    }

    [Fact]
    public async Task Backup_sidecar_and_job_folder_are_accessible_to_the_owner_only()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string db = _temp.Combine("app.db");
        using (SqliteConnection app = Open(db))
        {
            Execute(app, "CREATE TABLE item(id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
            InsertItems(app, from: 1, count: 10);
        }

        CellarConfig config = WriteConfig(db, "gzip");
        string jobFolder = config.FindJob(JobName).Folder;
        Assert.False(Directory.Exists(jobFolder), "the job folder should be created by the backup");
        using CancellationTokenSource timeout = Bounded(ct);

        JobOutcome result = await NewRunner(config).RunAsync(JobName, tag: null, progress: null, timeout.Token);

        Assert.Equal(OwnerFile, File.GetUnixFileMode(result.Path!));
        Assert.Equal(OwnerFile, File.GetUnixFileMode(Sidecar.PathFor(result.Path!)));
        Assert.Equal(OwnerFolder, File.GetUnixFileMode(jobFolder));
    }

    /// <summary>
    /// Proves the database at <paramref name="path"/> is sound and holds exactly parents and children 1..k
    /// (no gap, no half of a transaction, every child with its own parent); returns k.
    /// </summary>
    private static long AssertCommittedPrefix(string path)
    {
        using SqliteConnection connection = Open(path);
        Assert.Equal("ok", Scalar<string>(connection, "PRAGMA integrity_check"));

        long k = Scalar<long>(connection, "SELECT count(*) FROM parent");
        Assert.True(k >= 1, "the snapshot holds no committed row");
        Assert.Equal(1, Scalar<long>(connection, "SELECT min(n) FROM parent"));
        Assert.Equal(k, Scalar<long>(connection, "SELECT max(n) FROM parent"));
        Assert.Equal(k, Scalar<long>(connection, "SELECT count(DISTINCT n) FROM parent"));

        Assert.Equal(k, Scalar<long>(connection, "SELECT count(*) FROM child"));
        Assert.Equal(1, Scalar<long>(connection, "SELECT min(n) FROM child"));
        Assert.Equal(k, Scalar<long>(connection, "SELECT max(n) FROM child"));
        Assert.Equal(k, Scalar<long>(connection, "SELECT count(DISTINCT n) FROM child"));

        Assert.Equal(0, Scalar<long>(connection, """
            SELECT count(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id
            WHERE p.id IS NULL OR p.n <> c.n
            """));
        return k;
    }

    /// <summary>
    /// The sidecar on disk reports how long the app's writers were held off: in rollback-journal mode for the copy; in
    /// WAL mode for the moment a snapshot read in place is pinned, and not at all for a table dump, whose read
    /// transaction holds no writer.
    /// </summary>
    private static void AssertWritersHeldOffReported(JobOutcome result, string journal, bool dump = false)
    {
        Sidecar? onDisk = Sidecar.TryRead(result.Path!);
        Assert.NotNull(onDisk);
        if (journal == "wal" && dump)
        {
            Assert.Null(onDisk.WritersHeldOffMs);
        }
        else
        {
            Assert.NotNull(onDisk.WritersHeldOffMs);
            Assert.True(onDisk.WritersHeldOffMs >= 0);
        }

        Assert.Equal(result.Sidecar!.WritersHeldOffMs, onDisk.WritersHeldOffMs);
    }

    /// <summary>Decompresses a .gz backup with .NET's own gzip reader, independently of Cellar's codec.</summary>
    private string Gunzip(string backupPath)
    {
        string folder = _temp.Combine("expanded");
        Directory.CreateDirectory(folder);
        string target = Path.Combine(folder, Path.GetFileNameWithoutExtension(backupPath));
        using (FileStream input = File.OpenRead(backupPath))
        using (var gzip = new GZipStream(input, CompressionMode.Decompress))
        using (FileStream output = File.Create(target))
        {
            gzip.CopyTo(output);
        }

        return target;
    }

    /// <summary>
    /// Polls the live database until the writer has committed row <paramref name="n"/> + 1. Polls every
    /// millisecond without a busy handler: a writer committing non-stop in rollback-journal mode frees its lock
    /// only for moments between commits, which backed-off retries keep missing.
    /// </summary>
    private static async Task WaitUntilCommittedBeyondAsync(string db, long n, CancellationToken ct)
    {
        using SqliteConnection connection = Open(db);
        sqlite3 handle = connection.Handle!;
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_exec(handle, "PRAGMA busy_timeout=0"));
        while (true)
        {
            int rc = raw.sqlite3_prepare_v2(handle, "SELECT COALESCE(MAX(n), 0) FROM parent", out sqlite3_stmt statement);
            using (statement)
            {
                if (rc == raw.SQLITE_OK)
                {
                    rc = raw.sqlite3_step(statement);
                    if (rc == raw.SQLITE_ROW && raw.sqlite3_column_int64(statement, 0) > n)
                    {
                        return;
                    }
                }
            }

            Assert.True(rc is raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_BUSY, $"polling the live database failed: {raw.sqlite3_errstr(rc).utf8_to_string()}");
            await Task.Delay(1, ct);
        }
    }

    private CellarConfig WriteConfig(string database, string compression, bool withDump = false)
    {
        var settings = new JsonObject
        {
            ["database"] = database,
            ["backupRoot"] = _temp.Combine("backups"),
            ["logDir"] = _temp.Combine("logs"),
            ["timeZone"] = "UTC",
            ["jobs"] = new JsonObject
            {
                [JobName] = new JsonObject
                {
                    ["type"] = "snapshot",
                    ["schedule"] = "on-demand",
                    ["folder"] = JobName,
                    ["fileName"] = "app-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
                    ["keepDays"] = 30,
                    ["keepAtLeast"] = 50,
                    ["compression"] = compression,
                },
            },
        };
        if (withDump)
        {
            settings["jobs"]![DumpJobName] = new JsonObject
            {
                ["type"] = "tables",
                ["folder"] = DumpJobName,
                ["fileName"] = "tables-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sql",
                ["keepDays"] = 30,
                ["keepAtLeast"] = 50,
                ["compression"] = compression,
                ["tables"] = new JsonArray("parent", "child"),
            };
        }

        string path = _temp.Combine("cellar.json");
        File.WriteAllText(path, settings.ToJsonString());
        return ConfigLoader.Load(path);
    }

    private static JobRunner NewRunner(CellarConfig config) => new(config, TimeProvider.System, NullLoggerFactory.Instance);

    private static CancellationTokenSource Bounded(CancellationToken ct)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(ct);
        source.CancelAfter(BackupTimeout);
        return source;
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void InsertItems(SqliteConnection connection, long from, int count)
    {
        using SqliteTransaction transaction = connection.BeginTransaction();
        using SqliteCommand insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO item(id, body) VALUES ($id, $body)";
        SqliteParameter id = insert.Parameters.Add("$id", SqliteType.Integer);
        SqliteParameter body = insert.Parameters.Add("$body", SqliteType.Text);
        for (long i = from; i < from + count; i++)
        {
            id.Value = i;
            body.Value = $"item {i.ToString(CultureInfo.InvariantCulture)}";
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    private static string SkipBecauseMissing(string tool)
    {
        Assert.Skip($"{tool} is not installed (not on PATH)");
        return tool;
    }

    /// <summary>Runs a tool directly (no shell); its stdout goes to <paramref name="stdoutFile"/> when given.</summary>
    private static async Task<ToolRun> RunToolAsync(string fileName, IReadOnlyList<string> args, string? stdoutFile, CancellationToken ct)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        try
        {
            process.StandardInput.Close();
            Task<string> stderr = process.StandardError.ReadToEndAsync(ct);
            string stdout;
            if (stdoutFile is null)
            {
                stdout = await process.StandardOutput.ReadToEndAsync(ct);
            }
            else
            {
                await using (FileStream output = File.Create(stdoutFile))
                {
                    await process.StandardOutput.BaseStream.CopyToAsync(output, ct);
                }

                stdout = "";
            }

            await process.WaitForExitAsync(ct);
            return new ToolRun(process.ExitCode, stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}, stderr: {Stderr.Trim()}";
    }
}

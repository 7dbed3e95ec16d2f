using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Demo;
using Cellar.Core.Snapshots;

namespace Cellar.Bench;

/// <summary>Runs every measurement on one machine, in one process, so the rows are comparable.</summary>
/// <remarks>Over 300 lines on purpose: each scenario runs Cellar and its peer side by side, and one file keeps them under the same conditions.</remarks>
internal sealed class Bench(BenchOptions options, string[] cellar, string[] jitCellar, string writerDll)
{
    private const int WriterRate = 500;

    private static readonly TimeSpan WriterLeadIn = TimeSpan.FromSeconds(1);

    /// <summary>Generates the database of <paramref name="targetMiB"/>, measures every row on it, and (when asked) the busy scenario.</summary>
    public async Task<(SizeResult Size, BusyResult? Busy)> RunSizeAsync(string workDir, int targetMiB, bool busy)
    {
        var dir = Directory.CreateDirectory(Path.Combine(workDir, $"{targetMiB}mib")).FullName;
        var db = Path.Combine(dir, "portfolio.sqlite");

        Log($"[{targetMiB} MiB] generating {db}");
        var generate = Stopwatch.StartNew();
        await PortfolioDatabase.CreateAsync(db, targetMiB * 1024L * 1024L, CancellationToken.None).ConfigureAwait(false);
        generate.Stop();
        var dbBytes = new FileInfo(db).Length;
        Log($"[{targetMiB} MiB] {Report.MiB(dbBytes)} in {generate.Elapsed.TotalSeconds:0.0} s");

        var runs = options.Runs ?? (targetMiB <= 100 ? 3 : 1);
        var snapshotRuns = options.Runs ?? 3;

        // Order: the reference rows first, then Cellar's, each on an idle machine state (sync before every run).
        var seed = await MeasureAsync($"[{targetMiB} MiB] (a) seed pipeline", runs, () => SeedOnceAsync(db, dir)).ConfigureAwait(false);
        var cpFsync = await MeasureAsync($"[{targetMiB} MiB] (b) cp + fsync", runs, () => CopyOnceAsync(db, dir, fsync: true)).ConfigureAwait(false);
        var gzipRef = await MeasureAsync($"[{targetMiB} MiB] (c) gzip -6 -c", runs, () => ToolOnceAsync(db, dir, "gzip", ["-6", "-c", db])).ConfigureAwait(false);
        var zstdRef = await MeasureAsync($"[{targetMiB} MiB] zstd -3 -T0 -c", runs, () => ToolOnceAsync(db, dir, "zstd", ["-3", "-T0", "-q", "-c", db])).ConfigureAwait(false);
        var cellarGzip = await MeasureAsync($"[{targetMiB} MiB] (d) cellar gzip", runs, () => CellarOnceAsync(cellar, db, dir, "gzip")).ConfigureAwait(false);
        var cellarZstd = await MeasureAsync($"[{targetMiB} MiB] (d) cellar zstd", runs, () => CellarOnceAsync(cellar, db, dir, "zstd")).ConfigureAwait(false);
        var jitGzip = await MeasureAsync($"[{targetMiB} MiB] (d) cellar gzip, JIT", runs, () => CellarOnceAsync(jitCellar, db, dir, "gzip")).ConfigureAwait(false);
        var jitZstd = await MeasureAsync($"[{targetMiB} MiB] (d) cellar zstd, JIT", runs, () => CellarOnceAsync(jitCellar, db, dir, "zstd")).ConfigureAwait(false);
        var fullCheck = await MeasureAsync($"[{targetMiB} MiB] full check (cellar verify)", 1, () => FullCheckOnceAsync(db, dir)).ConfigureAwait(false);

        var apiCopy = await MeasureAsync($"[{targetMiB} MiB] snapshot: SQLite backup API", snapshotRuns, () => ApiCopyOnceAsync(db, dir)).ConfigureAwait(false);
        var cp = await MeasureAsync($"[{targetMiB} MiB] snapshot: cp", snapshotRuns, () => CopyOnceAsync(db, dir, fsync: false)).ConfigureAwait(false);
        var cpFsyncSnapshot = await MeasureAsync($"[{targetMiB} MiB] snapshot: cp + fsync", snapshotRuns, () => CopyOnceAsync(db, dir, fsync: true)).ConfigureAwait(false);
        var seedStep = new Measurement(
            [.. seed.Samples.Select(s => new Sample(s.FirstPartSeconds ?? double.NaN, null))],
            seed.Error);

        var size = new SizeResult(
            targetMiB, dbBytes, generate.Elapsed.TotalSeconds, runs,
            seed, cpFsync, gzipRef, zstdRef, cellarGzip, cellarZstd, jitGzip, jitZstd, fullCheck,
            snapshotRuns, apiCopy, cp, cpFsyncSnapshot, seedStep);

        BusyResult? busyResult = null;
        if (busy)
        {
            busyResult = await BusyAsync(db, dir, targetMiB, dbBytes).ConfigureAwait(false);
        }

        Directory.Delete(dir, recursive: true);
        return (size, busyResult);
    }

    internal static async Task<Measurement> MeasureAsync(string label, int runs, Func<Task<Sample>> once)
    {
        var samples = new List<Sample>();
        for (var i = 0; i < runs; i++)
        {
            await Proc.SyncAsync().ConfigureAwait(false);
            try
            {
                var sample = await once().ConfigureAwait(false);
                samples.Add(sample);
                Log($"{label}: {sample.Seconds:0.000} s" + (sample.Bytes is { } b ? $", {Report.MiB(b)}" : "")
                    + (sample.SidecarMs is { } ms ? $", sidecar {ms} ms" : "") + (sample.CpuSeconds is { } cpu ? $", {cpu:0.00} CPU-s" : "") + (sample.PeakRssBytes is { } rss ? $", peak RSS {Report.MiB(rss)}" : ""));
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or Cellar.Core.CellarException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log($"{label}: FAILED: {e.Message}");
                return new Measurement(samples, e.Message);
            }
        }

        return new Measurement(samples, null);
    }

    /// <summary>(a) The seed's nightly job: <c>sqlite3 DB ".backup OUT"</c> then <c>gzip -6 OUT</c>.</summary>
    private static async Task<Sample> SeedOnceAsync(string db, string dir)
    {
        var outPath = Path.Combine(dir, "seed-backup.sqlite");
        DeleteFiles(outPath, outPath + ".gz");
        try
        {
            var backup = await Proc.RunAsync("sqlite3", [db, $".backup '{outPath}'"]).ConfigureAwait(false);
            Require(backup, "sqlite3 .backup");
            var gzip = await Proc.RunAsync("gzip", ["-6", outPath]).ConfigureAwait(false);
            Require(gzip, "gzip -6");
            var bytes = new FileInfo(outPath + ".gz").Length;
            return new Sample(
                backup.Elapsed.TotalSeconds + gzip.Elapsed.TotalSeconds, bytes,
                FirstPartSeconds: backup.Elapsed.TotalSeconds, SecondPartSeconds: gzip.Elapsed.TotalSeconds);
        }
        finally
        {
            DeleteFiles(outPath, outPath + ".gz");
        }
    }

    /// <summary>(b) <c>cp DB OUT</c>, then (with <paramref name="fsync"/>) <c>sync OUT</c>, which fsyncs that one file.</summary>
    private static async Task<Sample> CopyOnceAsync(string db, string dir, bool fsync)
    {
        var outPath = Path.Combine(dir, "cp-copy.sqlite");
        DeleteFiles(outPath);
        try
        {
            var cp = await Proc.RunAsync("cp", [db, outPath]).ConfigureAwait(false);
            Require(cp, "cp");
            var seconds = cp.Elapsed.TotalSeconds;
            double? syncSeconds = null;
            if (fsync)
            {
                var sync = await Proc.RunAsync("sync", [outPath]).ConfigureAwait(false);
                Require(sync, "sync FILE");
                syncSeconds = sync.Elapsed.TotalSeconds;
                seconds += syncSeconds.Value;
            }

            return new Sample(seconds, new FileInfo(outPath).Length, FirstPartSeconds: cp.Elapsed.TotalSeconds, SecondPartSeconds: syncSeconds);
        }
        finally
        {
            DeleteFiles(outPath);
        }
    }

    /// <summary>(c) A compressor writing <c>-c</c> output to a file: the size references.</summary>
    private static async Task<Sample> ToolOnceAsync(string db, string dir, string tool, string[] args)
    {
        _ = db;
        var outPath = Path.Combine(dir, $"{tool}-reference.out");
        DeleteFiles(outPath);
        try
        {
            var result = await Proc.RunAsync(tool, args, stdoutPath: outPath).ConfigureAwait(false);
            Require(result, tool);
            return new Sample(result.Elapsed.TotalSeconds, new FileInfo(outPath).Length);
        }
        finally
        {
            DeleteFiles(outPath);
        }
    }

    /// <summary>(d) The real CLI: <c>dotnet cellar.dll --config CFG run daily</c>, verification included.</summary>
    private static async Task<Sample> CellarOnceAsync(string[] command, string db, string dir, string compression)
    {
        var (config, root) = await WriteConfigAsync(db, dir, compression).ConfigureAwait(false);
        try
        {
            var result = await Proc.RunAsync(command[0], [.. command[1..], "--config", config, "run", "daily"]).ConfigureAwait(false);
            Require(result, $"cellar run daily ({compression})");
            var path = result.LastStdoutLine;
            var sidecar = Sidecar.TryRead(path) ?? throw new InvalidOperationException($"cellar printed {path}, which has no sidecar");
            return new Sample(result.Elapsed.TotalSeconds, new FileInfo(path).Length, sidecar.DurationMs, sidecar.WritersHeldOffMs);
        }
        finally
        {
            DeleteDirectory(root);
        }
    }

    /// <summary>
    /// The full check (stage 2) of a zstd backup on its own: <c>cellar verify FILE</c> (expand, <c>integrity_check</c>,
    /// <c>foreign_key_check</c>, row counts), after a <c>cellar run daily</c> that is not measured.
    /// </summary>
    private async Task<Sample> FullCheckOnceAsync(string db, string dir)
    {
        var (config, root) = await WriteConfigAsync(db, dir, "zstd").ConfigureAwait(false);
        try
        {
            var run = await Proc.RunAsync(cellar[0], [.. cellar[1..], "--config", config, "run", "daily"]).ConfigureAwait(false);
            Require(run, "cellar run daily (zstd)");
            await Proc.SyncAsync().ConfigureAwait(false);
            var verify = await Proc.RunAsync(cellar[0], [.. cellar[1..], "--config", config, "verify", run.LastStdoutLine]).ConfigureAwait(false);
            Require(verify, "cellar verify");
            return new Sample(verify.Elapsed.TotalSeconds, null) { CpuSeconds = verify.CpuSeconds };
        }
        finally
        {
            DeleteDirectory(root);
        }
    }

    /// <summary>The seed's daily job as a Cellar config with <paramref name="compression"/>; its path, and the backup root to delete after.</summary>
    private static async Task<(string Config, string Root)> WriteConfigAsync(string db, string dir, string compression)
    {
        var root = Path.Combine(dir, "backups");
        var logs = Path.Combine(dir, "logs");
        DeleteDirectory(root);
        var config = Path.Combine(dir, $"cellar-{compression}.json");
        var json = JsonSerializer.Serialize(new
        {
            database = db,
            backupRoot = root,
            logDir = logs,
            timeZone = "UTC",
            jobs = new Dictionary<string, object>
            {
                ["daily"] = new
                {
                    type = "snapshot",
                    schedule = "0 2 * * *",
                    folder = "daily",
                    fileName = "portfolio-{yyyy}-{MM}-{dd}.sqlite",
                    keepDays = 30,
                    keepAtLeast = 3,
                    compression,
                },
            },
        });
        await File.WriteAllTextAsync(config, json).ConfigureAwait(false);
        return (config, root);
    }

    /// <summary>The snapshot step alone: SQLite's online backup API under one read transaction, as Cellar does it.</summary>
    private static async Task<Sample> ApiCopyOnceAsync(string db, string dir)
    {
        var outPath = Path.Combine(dir, "api-copy.sqlite");
        DeleteFiles(outPath, outPath + "-journal", outPath + "-wal", outPath + "-shm");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            await SqliteSnapshot.CopyAsync(db, outPath, TimeProvider.System, null, null, CancellationToken.None).ConfigureAwait(false);
            stopwatch.Stop();
            return new Sample(stopwatch.Elapsed.TotalSeconds, new FileInfo(outPath).Length);
        }
        finally
        {
            DeleteFiles(outPath, outPath + "-journal", outPath + "-wal", outPath + "-shm");
        }
    }

    /// <summary>(e) The LoadWriter at 500 commits/s against the database, alone and with each backup method.</summary>
    private async Task<BusyResult> BusyAsync(string db, string dir, int targetMiB, long dbBytes)
    {
        var rows = new List<BusyRow>();
        try
        {
            await BusyModeAsync(rows, db, dir, "wal", dbBytes).ConfigureAwait(false);

            // Rollback journal: a copy of the same database, converted. The writer is stopped, so the checkpoint empties the WAL.
            await Proc.RunCheckedAsync("sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);").ConfigureAwait(false);
            var rollbackDb = Path.Combine(dir, "portfolio-delete.sqlite");
            await Proc.RunCheckedAsync("cp", db, rollbackDb).ConfigureAwait(false);
            var mode = await Proc.RunCheckedAsync("sqlite3", rollbackDb, "PRAGMA journal_mode=DELETE;").ConfigureAwait(false);
            if (mode.LastStdoutLine != "delete")
            {
                throw new InvalidOperationException($"could not convert the copy to journal_mode=DELETE (got '{mode.LastStdoutLine}')");
            }

            DeleteFiles(db, db + "-wal", db + "-shm");
            await BusyModeAsync(rows, rollbackDb, dir, "delete", new FileInfo(rollbackDb).Length).ConfigureAwait(false);
            return new BusyResult(targetMiB, dbBytes, WriterRate, rows, null);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            Log($"busy scenario FAILED: {e.Message}");
            return new BusyResult(targetMiB, dbBytes, WriterRate, rows, e.Message);
        }
    }

    private async Task BusyModeAsync(List<BusyRow> rows, string db, string dir, string journal, long dbBytes)
    {
        var label = $"busy ({journal})";

        // The writer alone: its latencies with nothing else touching the database.
        await Proc.SyncAsync().ConfigureAwait(false);
        WriterStats idle;
        using (var writer = await Writer.StartAsync(writerDll, db, journal, WriterRate).ConfigureAwait(false))
        {
            await Task.Delay(TimeSpan.FromSeconds(options.WriterSeconds)).ConfigureAwait(false);
            idle = await writer.StopAsync().ConfigureAwait(false);
        }

        Log($"{label}: writer alone: {Describe(idle)}");
        rows.Add(new BusyRow(journal, $"LoadWriter alone, {options.WriterSeconds} s", "—", null, idle));

        // The seed's backup while the writer commits; killed at the timeout.
        await Proc.SyncAsync().ConfigureAwait(false);
        var outPath = Path.Combine(dir, "seed-busy.sqlite");
        DeleteFiles(outPath, outPath + "-journal");
        ProcResult seed;
        long furthest = 0;
        WriterStats seedWriter;
        using (var writer = await Writer.StartAsync(writerDll, db, journal, WriterRate).ConfigureAwait(false))
        {
            await Task.Delay(WriterLeadIn).ConfigureAwait(false);
            seed = await Proc.RunAsync(
                "sqlite3",
                [db, $".backup '{outPath}'"],
                timeout: TimeSpan.FromSeconds(options.BackupTimeoutSeconds),
                whileRunning: () => furthest = Math.Max(furthest, SizeOf(outPath))).ConfigureAwait(false);
            furthest = Math.Max(furthest, SizeOf(outPath));
            seedWriter = await writer.StopAsync().ConfigureAwait(false);
        }

        DeleteFiles(outPath, outPath + "-journal");
        var seedOutcome = seed switch
        {
            { TimedOut: true } => string.Create(CultureInfo.InvariantCulture,
                $"did not finish in {options.BackupTimeoutSeconds} s (killed); the copy file reached at most {Report.MiB(furthest)} of {Report.MiB(dbBytes)} ({100.0 * furthest / dbBytes:0}%) before restarting"),
            { Ok: true } => "finished",
            _ => string.Create(CultureInfo.InvariantCulture, $"failed: exit {seed.ExitCode}, \"{seed.FirstErrorLine}\""),
        };
        Log($"{label}: sqlite3 .backup: {seedOutcome} after {seed.Elapsed.TotalSeconds:0.0} s; writer {Describe(seedWriter)}");
        rows.Add(new BusyRow(journal, "LoadWriter + `sqlite3 DB \".backup OUT\"`", seedOutcome, seed.Elapsed.TotalSeconds, seedWriter));

        // Cellar on the same database without the writer (the reference), then with it.
        await Proc.SyncAsync().ConfigureAwait(false);
        var idleCellar = await TryCellarAsync(db, dir).ConfigureAwait(false);
        Log($"{label}: cellar zstd idle: {idleCellar.Outcome}");
        rows.Add(new BusyRow(journal, "`cellar run daily` (zstd), no writer", idleCellar.Outcome, idleCellar.Sample?.Seconds, null, idleCellar.Sample?.SidecarMs, idleCellar.Sample?.HeldOffMs));

        await Proc.SyncAsync().ConfigureAwait(false);
        (string Outcome, Sample? Sample) busyCellar;
        WriterStats cellarWriter;
        using (var writer = await Writer.StartAsync(writerDll, db, journal, WriterRate).ConfigureAwait(false))
        {
            await Task.Delay(WriterLeadIn).ConfigureAwait(false);
            busyCellar = await TryCellarAsync(db, dir).ConfigureAwait(false);
            await Task.Delay(WriterLeadIn).ConfigureAwait(false);
            cellarWriter = await writer.StopAsync().ConfigureAwait(false);
        }

        Log($"{label}: cellar zstd with writer: {busyCellar.Outcome}; writer {Describe(cellarWriter)}");
        rows.Add(new BusyRow(journal, "LoadWriter + `cellar run daily` (zstd)", busyCellar.Outcome, busyCellar.Sample?.Seconds, cellarWriter, busyCellar.Sample?.SidecarMs, busyCellar.Sample?.HeldOffMs));
    }

    private async Task<(string Outcome, Sample? Sample)> TryCellarAsync(string db, string dir)
    {
        try
        {
            var sample = await CellarOnceAsync(cellar, db, dir, "zstd").ConfigureAwait(false);
            return ("verified backup written", sample);
        }
        catch (InvalidOperationException e)
        {
            return ($"failed: {e.Message}", null);
        }
    }

    private static string Describe(WriterStats s) => string.Create(
        CultureInfo.InvariantCulture,
        $"{s.Commits} commits, p50 {s.P50Ms} ms, p99 {s.P99Ms} ms, max {s.MaxMs} ms, busy errors {s.BusyErrors}");

    internal static void Require(ProcResult result, string what)
    {
        if (!result.Ok)
        {
            throw new InvalidOperationException(result.TimedOut ? $"{what} timed out" : $"{what} failed: {result.FirstErrorLine}");
        }
    }

    private static long SizeOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : 0;
    }

    private static void DeleteFiles(params string[] paths)
    {
        foreach (var path in paths)
        {
            File.Delete(path);
        }
    }

    internal static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>The highest 1-minute load average seen while logging progress (the machine is shared).</summary>
    public static double MaxLoad { get; private set; }

    public static void Log(string message)
    {
        var load = Machine.OneMinuteLoad();
        if (load > MaxLoad)
        {
            MaxLoad = load;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{message}  [load {load:0.00}]"));
    }
}

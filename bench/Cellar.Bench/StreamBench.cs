using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using static System.FormattableString;

namespace Cellar.Bench;

/// <summary>
/// Continuous replication side by side with Litestream v0.3.13 (npm <c>@flydotio/litestream-linux-x64</c> 1.0.1, installed
/// into the work folder for the bench only), each following a database that the load writer ("the app") commits to:
/// commits lost when app and replicator are SIGKILLed together (to a local folder, and to s3rver on loopback, with the
/// requests each made there per hour), the app's commit p99 at 500 tx/s with and without each, the WAL's size (500
/// tx/s and unthrottled), and each replicator's CPU while idle and at 200 tx/s. Cellar runs as the real CLI
/// (<c>cellar serve</c>, the native AOT binary it ships as), Litestream as its own binary, one at a time on the same machine.
/// </summary>
internal sealed class StreamBench(string repo, string[] cellar, string writerDll, int rounds)
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The span a kill moment is spread over: a whole number of each replicator's cycles (Litestream's 1 s sync,
    /// Cellar's 0.8 s offsite pass), so every point of either cycle is as likely.
    /// </summary>
    private static readonly TimeSpan PhaseSpan = TimeSpan.FromSeconds(4);

    /// <summary>How long the app commits under the replicator before the phase span begins.</summary>
    private static readonly TimeSpan LossWindow = TimeSpan.FromSeconds(6);

    /// <summary>Rounds of the latency runs at most: each is a minute (the app alone, under each replicator, 20 s each).</summary>
    private const int LatencyRounds = 6;

    public async Task<StreamResult> RunAsync(string workDir)
    {
        var litestream = await InstallLitestreamAsync(workDir).ConfigureAwait(false);
        var s3 = Path.Combine(repo, "tests", "s3server");
        if (!File.Exists(Path.Combine(s3, "node_modules", "s3rver", "bin", "s3rver.js")))
        {
            await Proc.RunCheckedAsync("npm", "ci", "--no-audit", "--no-fund", "--prefix", s3).ConfigureAwait(false);
        }

        // Stratified: round r kills at a moment drawn from the r-th of `rounds` equal parts of the span, the same moments
        // for both tools (seeded, so a rerun kills at the same moments). Drawn from anywhere in the span, six rounds left
        // the mean loss about 25 commits either way of the true one; a loss runs from next to nothing right after an
        // upload to a whole cycle's commits right before the next, so it takes many rounds to average it well.
        var random = new Random(15);
        var phases = Enumerable.Range(0, rounds).Select(r => PhaseSpan * ((r + random.NextDouble()) / rounds)).ToArray();
        var result = new StreamResult();
        foreach (var tool in new[] { Tool.Cellar, Tool.Litestream })
        {
            for (var round = 0; round < rounds; round++)
            {
                foreach (var (losses, server) in new[] { (result.LostLocal[tool], (string?)null), (result.LostOffsite[tool], s3) })
                {
                    if (await LossAsync(workDir, tool, litestream, server, phases[round]).ConfigureAwait(false) is { } loss)
                    {
                        losses.Add(loss);
                    }
                    else
                    {
                        result.FailedRestores[tool]++;
                    }
                }
            }

            result.Unthrottled[tool] = await SteadyAsync(workDir, tool, litestream, 0).ConfigureAwait(false);
            result.Cpu[tool] = await CpuAsync(workDir, tool, litestream).ConfigureAwait(false);
        }

        // The commit latency moves with whatever else the machine does in those 20 s: each round runs the app alone and
        // under each replicator back to back, and the report takes each one's median over the rounds.
        for (var round = 0; round < Math.Min(rounds, LatencyRounds); round++)
        {
            foreach (var tool in new[] { Tool.None, Tool.Cellar, Tool.Litestream })
            {
                result.Steady[tool].Add(await SteadyAsync(workDir, tool, litestream, 500).ConfigureAwait(false));
            }
        }

        result.Unthrottled[Tool.None] = await SteadyAsync(workDir, Tool.None, litestream, 0).ConfigureAwait(false);
        return result;
    }

    /// <summary>The app commits at 200 tx/s for ten seconds under the replicator; both are killed at once; the replica is restored and compared.</summary>
    /// <remarks>Null when the replica would not restore, twice (Litestream's from its mirrored bucket, now and then: "context canceled").</remarks>
    private async Task<Loss?> LossAsync(string workDir, Tool tool, string litestream, string? s3, TimeSpan phase)
    {
        var dir = Fresh(workDir, $"loss-{tool}");
        var db = Path.Combine(dir, "app.sqlite");
        using var server = s3 is null ? null : await S3rver.StartAsync(dir, s3).ConfigureAwait(false);
        using var writer = await Writer.StartAsync(writerDll, db, "wal", 200).ConfigureAwait(false);
        using var replicator = await StartAsync(tool, dir, db, litestream, server).ConfigureAwait(false);
        await Task.Delay(Warmup).ConfigureAwait(false);
        var before = server?.Log.Count ?? 0;
        // Six seconds, plus a moment of the phase span: a kill at a fixed time after start lands at the same point of
        // each replicator's cycle every round, and would measure that phase, not the loss.
        var window = Stopwatch.StartNew();
        await Task.Delay(LossWindow + phase).ConfigureAwait(false);
        var after = server?.Log.Count ?? 0;
        var requests = after - before;
        var seconds = window.Elapsed.TotalSeconds;
        if (server?.Log.Responses(before, after).Where(r => !r.Contains(".segment.", StringComparison.Ordinal) && !r.Contains("/wal/", StringComparison.Ordinal)).ToList() is [_, ..] others)
        {
            // Each object a replicator puts for its commits is expected; anything else in the window is named, so a
            // request count above the rest can be explained from the log.
            Bench.Log($"[stream] {tool} s3rver: {others.Count} requests beside the WAL's: {string.Join("; ", others.Select(r => r[(r.IndexOf(": ", StringComparison.Ordinal) + 2)..]))}");
        }

        // Together, as a machine that dies takes both: one kill(1) for the two.
        await Proc.RunCheckedAsync("kill", "-KILL", writer.Pid.ToString(CultureInfo.InvariantCulture), replicator!.Id.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await replicator.WaitForExitAsync().ConfigureAwait(false);
        var committed = LastParent(db);

        var restored = Path.Combine(dir, "restored.sqlite");
        var restoreClock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            // The bucket is mirrored again for a second attempt: s3rver may have been finishing an object the first time.
            var litestreamConfig = tool == Tool.Litestream ? server is null ? Path.Combine(dir, "litestream.yml") : await MirrorAsync(dir, db, server).ConfigureAwait(false) : null;
            restoreClock.Restart();
            var restore = tool == Tool.Cellar
                ? await Proc.RunAsync(cellar[0], s3 is null
                    ? [.. cellar[1..], "--config", Path.Combine(dir, "cellar.json"), "restore", "--latest", "live", "--to", restored]
                    : [.. cellar[1..], "--config", Path.Combine(dir, "cellar.json"), "restore", "--latest", "live", "--from", "bench", "--to", restored]).ConfigureAwait(false)
                : await Proc.RunAsync(litestream, ["restore", "-config", litestreamConfig!, "-o", restored, db]).ConfigureAwait(false);
            if (restore.Ok)
            {
                break;
            }

            Bench.Log($"[stream] {tool} {(s3 is null ? "local" : "s3rver")}: restore attempt {attempt} failed: {restore.Stderr.ReplaceLineEndings(" ")} {restore.Stdout.ReplaceLineEndings(" ")}");
            if (attempt == 2)
            {
                Directory.Delete(dir, recursive: true);
                return null;
            }

            File.Delete(restored);
            await Task.Delay(1000).ConfigureAwait(false);
        }

        var loss = new Loss(committed, LastParent(restored), requests / seconds * 3600, restoreClock.Elapsed.TotalSeconds);
        Bench.Log($"[stream] {tool} {(s3 is null ? "local" : "s3rver")}: {loss.Lost} of {committed} commits lost, {loss.RequestsPerHour:0} requests/h, restored in {loss.RestoreSeconds:0.00} s");
        Directory.Delete(dir, recursive: true);
        return loss;
    }

    /// <summary>
    /// Litestream v0.3.13 replicates to s3rver but cannot restore from it (its listing finds no generation there: "no
    /// matching backups found"), so what it put in the bucket is copied out of s3rver's data folder (one file per
    /// object, named by its key) into a folder replica, byte for byte, and restored from there. Returns that config.
    /// </summary>
    private static async Task<string> MirrorAsync(string dir, string db, S3rver server)
    {
        var bucket = Path.Combine(server.DataFolder, "cellar", "litestream");
        var mirror = Path.Combine(dir, "mirror");
        foreach (var stored in Directory.EnumerateFiles(bucket, "*._S3rver_object", SearchOption.AllDirectories))
        {
            var target = Path.Combine(mirror, Path.GetRelativePath(bucket, stored)[..^"._S3rver_object".Length]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(stored, target, overwrite: true);
        }

        var yml = Path.Combine(dir, "mirror.yml");
        await File.WriteAllTextAsync(yml, $"dbs:\n  - path: {db}\n    replicas:\n      - path: {mirror}\n").ConfigureAwait(false);
        return yml;
    }

    /// <summary>The app at <paramref name="rate"/> tx/s (0: as fast as it can) for 20 s under the replicator: its commit latencies and the WAL's largest size.</summary>
    private async Task<Steady> SteadyAsync(string workDir, Tool tool, string litestream, int rate)
    {
        var dir = Fresh(workDir, $"steady-{tool}-{rate}");
        var db = Path.Combine(dir, "app.sqlite");
        using var writer = await Writer.StartAsync(writerDll, db, "wal", rate).ConfigureAwait(false);
        using var replicator = await StartAsync(tool, dir, db, litestream, null).ConfigureAwait(false);
        var largest = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            largest = Math.Max(largest, new FileInfo(db + "-wal") is { Exists: true } wal ? wal.Length : 0);
            await Task.Delay(100).ConfigureAwait(false);
        }

        var stats = await writer.StopAsync().ConfigureAwait(false);
        await StopAsync(replicator).ConfigureAwait(false);
        Bench.Log($"[stream] {tool} at {(rate == 0 ? "full speed" : $"{rate} tx/s")}: {stats.Commits / stats.ElapsedS:0} tx/s, p99 {stats.P99Ms:0.00} ms, WAL at most {largest / 1048576.0:0.0} MiB");
        Directory.Delete(dir, recursive: true);
        return new Steady(stats.Commits / stats.ElapsedS, stats.P99Ms, largest);
    }

    /// <summary>The replicator's CPU seconds per minute with the app connected and idle, then at 200 tx/s (30 s each, after a warm-up).</summary>
    private async Task<Cpu> CpuAsync(string workDir, Tool tool, string litestream)
    {
        var dir = Fresh(workDir, $"cpu-{tool}");
        var db = Path.Combine(dir, "app.sqlite");
        var writer = await Writer.StartAsync(writerDll, db, "wal", 200).ConfigureAwait(false);
        using var replicator = await StartAsync(tool, dir, db, litestream, null).ConfigureAwait(false);
        await Task.Delay(Warmup).ConfigureAwait(false);
        var busy = await CpuSecondsPerMinuteAsync(replicator!).ConfigureAwait(false);
        await writer.StopAsync().ConfigureAwait(false);
        writer.Dispose();
        using var idleApp = new SqliteConnection($"Data Source={db};Pooling=False");
        idleApp.Open();
        await Task.Delay(Warmup).ConfigureAwait(false);
        var idle = await CpuSecondsPerMinuteAsync(replicator!).ConfigureAwait(false);
        await StopAsync(replicator).ConfigureAwait(false);
        Bench.Log($"[stream] {tool} CPU: idle {idle:0.00} s/min, 200 tx/s {busy:0.00} s/min");
        Directory.Delete(dir, recursive: true);
        return new Cpu(idle, busy);
    }

    private static async Task<double> CpuSecondsPerMinuteAsync(Process process)
    {
        var before = CpuTicks(process.Id);
        await Task.Delay(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        return (CpuTicks(process.Id) - before) / 100.0 * 2; // USER_HZ is 100 on Linux; 30 s measured, per minute
    }

    /// <summary>utime + stime of the process, in clock ticks (/proc/PID/stat fields 14 and 15).</summary>
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Starts the replicator on <paramref name="db"/> (to the folder, or to <paramref name="server"/>) and returns once it
    /// follows it; null for none. With <paramref name="nextBase"/>, each takes its next full copy then (Cellar's base
    /// schedule, Litestream's snapshot interval), instead of on its defaults.
    /// </summary>
    internal async Task<Process?> StartAsync(Tool tool, string dir, string db, string litestream, S3rver? server, DateTimeOffset? nextBase = null)
    {
        Process? process;
        switch (tool)
        {
            case Tool.Cellar:
                var live = new Dictionary<string, object> { ["type"] = "stream", ["folder"] = "stream" };
                if (nextBase is { } at)
                {
                    live["schedule"] = at.UtcDateTime.ToString("s m H d M '*'", CultureInfo.InvariantCulture);
                }

                var config = new Dictionary<string, object>
                {
                    ["database"] = db,
                    ["backupRoot"] = Path.Combine(dir, "backups"),
                    ["logDir"] = dir,
                    ["listen"] = "http://127.0.0.1:0",
                    ["timeZone"] = "UTC",
                    ["jobs"] = new Dictionary<string, object> { ["live"] = live },
                };
                if (server is not null)
                {
                    var key = Path.Combine(dir, "key");
                    await File.WriteAllBytesAsync(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ConfigureAwait(false);
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                    }

                    config["encryptionKeyFile"] = key;
                    config["offsite"] = new Dictionary<string, object>
                    {
                        ["bench"] = new Dictionary<string, object>
                        {
                            ["type"] = "s3", ["bucket"] = "cellar", ["prefix"] = "cellar", ["endpoint"] = server.Endpoint, ["forcePathStyle"] = true,
                            ["credentialsFile"] = server.CredentialsFile,
                        },
                    };
                }

                var path = Path.Combine(dir, "cellar.json");
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(config)).ConfigureAwait(false);
                process = Process.Start(Proc.StartInfo(cellar[0], [.. cellar[1..], "--config", path, "serve"], redirectStdin: false))!;
                break;
            case Tool.Litestream:
                var replica = server is null
                    ? $"      - path: {Path.Combine(dir, "replica")}\n"
                    : $"      - type: s3\n        bucket: cellar\n        path: litestream\n        endpoint: {server.Endpoint}\n        force-path-style: true\n        access-key-id: S3RVER\n        secret-access-key: S3RVER\n";
                var snapshots = nextBase is { } when ? Invariant($"        snapshot-interval: {Math.Max(1, (int)(when - TimeProvider.System.GetUtcNow()).TotalSeconds)}s\n") : "";
                var yml = Path.Combine(dir, "litestream.yml");
                await File.WriteAllTextAsync(yml, $"dbs:\n  - path: {db}\n    replicas:\n{replica}{snapshots}").ConfigureAwait(false);
                process = Process.Start(Proc.StartInfo(litestream, ["replicate", "-config", yml], redirectStdin: false))!;
                break;
            default:
                return null;
        }

        _ = ForwardTroubleAsync(tool, process.StandardOutput);
        _ = ForwardTroubleAsync(tool, process.StandardError);

        // Following once its first full copy exists: Cellar's first base, Litestream's first snapshot.
        var waited = Stopwatch.StartNew();
        while (!Following(tool, dir, server))
        {
            if (process.HasExited || waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"{tool} did not start following {db} within 60 s");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        return process;
    }

    /// <summary>Reads a replicator's output to its end, passing its warnings and errors to the bench's log (a new generation, a failed upload).</summary>
    private static async Task ForwardTroubleAsync(Tool tool, StreamReader output)
    {
        while (await output.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line.Contains(" warn: ", StringComparison.Ordinal) && !line.Contains("admin API is off", StringComparison.Ordinal)
                || line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains("level=ERROR", StringComparison.Ordinal) || line.Contains("level=WARN", StringComparison.Ordinal))
            {
                Bench.Log($"[stream] {tool} said: {line}");
            }
        }
    }

    private static bool Following(Tool tool, string dir, S3rver? server) => (tool, server) switch
    {
        (Tool.Cellar, null) => Directory.Exists(Path.Combine(dir, "backups", "stream")) && Directory.EnumerateFiles(Path.Combine(dir, "backups", "stream"), "base-*.sqlite.zst.json", SearchOption.AllDirectories).Any(),
        (Tool.Cellar, { } s3) => Directory.Exists(s3.DataFolder) && Directory.EnumerateFiles(s3.DataFolder, "*", SearchOption.AllDirectories).Any(f => f.Contains("base-", StringComparison.Ordinal)),
        (Tool.Litestream, null) => Directory.Exists(Path.Combine(dir, "replica", "generations")) && Directory.EnumerateFiles(Path.Combine(dir, "replica", "generations"), "*.snapshot.lz4", SearchOption.AllDirectories).Any(),
        (Tool.Litestream, { } s3) => Directory.Exists(s3.DataFolder) && Directory.EnumerateFiles(s3.DataFolder, "*", SearchOption.AllDirectories).Any(f => f.Contains("snapshot", StringComparison.Ordinal)),
        _ => true,
    };

    internal static async Task StopAsync(Process? process)
    {
        if (process is { HasExited: false })
        {
            await Proc.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]).ConfigureAwait(false);
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(patience.Token).ConfigureAwait(false);
        }
    }

    private static long LastParent(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(n), 0) FROM parent";
        return (long)command.ExecuteScalar()!;
    }

    private static string Fresh(string workDir, string name)
    {
        var dir = Path.Combine(workDir, name);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        return Directory.CreateDirectory(dir).FullName;
    }

    internal static async Task<string> InstallLitestreamAsync(string workDir)
    {
        var prefix = Path.Combine(workDir, "litestream");
        await Proc.RunCheckedAsync("npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, "@flydotio/litestream-linux-x64@1.0.1").ConfigureAwait(false);
        return Path.Combine(prefix, "node_modules", "@flydotio", "litestream-linux-x64", "litestream");
    }
}

/// <summary>Which replicator follows the database (none: the app alone).</summary>
internal enum Tool
{
    None,
    Cellar,
    Litestream,
}

/// <summary>One kill: the last commit the app made, the last one the replica restored, the requests per hour the destination answered meanwhile, and how long the restore took.</summary>
internal sealed record Loss(long Committed, long Restored, double RequestsPerHour, double RestoreSeconds)
{
    public long Lost => Committed - Restored;
}

/// <summary>The app's rate reached, its commit p99, and the WAL's largest size, under one replicator.</summary>
internal sealed record Steady(double Rate, double P99Ms, long LargestWalBytes);

/// <summary>A replicator's CPU seconds per minute, idle and at 200 tx/s.</summary>
internal sealed record Cpu(double IdleSecondsPerMinute, double BusySecondsPerMinute);

/// <summary>Everything the stream suite measured.</summary>
internal sealed class StreamResult
{
    public Dictionary<Tool, List<Loss>> LostLocal { get; } = new() { [Tool.Cellar] = [], [Tool.Litestream] = [] };

    public Dictionary<Tool, List<Loss>> LostOffsite { get; } = new() { [Tool.Cellar] = [], [Tool.Litestream] = [] };

    /// <summary>Kills whose replica would not restore (left out of the losses).</summary>
    public Dictionary<Tool, int> FailedRestores { get; } = new() { [Tool.Cellar] = 0, [Tool.Litestream] = 0 };

    public Dictionary<Tool, List<Steady>> Steady { get; } = new() { [Tool.None] = [], [Tool.Cellar] = [], [Tool.Litestream] = [] };

    public Dictionary<Tool, Steady> Unthrottled { get; } = [];

    public Dictionary<Tool, Cpu> Cpu { get; } = [];
}

using System.Diagnostics;
using System.Security.Cryptography;
using Cellar.Demo;
using Microsoft.Data.Sqlite;

namespace Cellar.Bench;

/// <summary>
/// A day of history, scaled in time, side by side with Litestream v0.3.13: the portfolio database, and an app that
/// changes 1% of its pages an hour (image titles rewritten at random, in small transactions spread over the hour), for
/// 24 hours of <see cref="_secondsPerHour"/> seconds each. Storage: each replicator's folder after the day, once it has
/// taken the day's next full copy (Cellar's scheduled base, Litestream's snapshot interval), which is what keeping a
/// day restorable costs. Restore: the newest point after a day of history on a larger database, with no full copy
/// since the start (so the day is replayed), timed as a whole process and checked against the app's rows.
/// </summary>
internal sealed class HistoryBench(StreamBench stream, string[] cellar, int secondsPerHour)
{
    private const int TransactionsPerHour = 20;

    // Time for the replicator to take its first full copy before the day begins; the day's next one is due after.
    private static readonly TimeSpan StartAllowance = TimeSpan.FromSeconds(40);

    private readonly int _secondsPerHour = secondsPerHour;

    public async Task<HistoryResult> RunAsync(string workDir, string litestream, int storageMiB, int restoreMiB)
    {
        var result = new HistoryResult(storageMiB, restoreMiB, _secondsPerHour);
        var pristine = await PristineAsync(workDir, storageMiB).ConfigureAwait(false);
        foreach (var tool in new[] { Tool.Cellar, Tool.Litestream })
        {
            result.Storage[tool] = await DayAsync(workDir, tool, litestream, pristine, nextBaseAfterDay: true).ConfigureAwait(false);
        }

        File.Delete(pristine);
        pristine = await PristineAsync(workDir, restoreMiB).ConfigureAwait(false);
        foreach (var tool in new[] { Tool.Cellar, Tool.Litestream })
        {
            result.Restore[tool] = await DayAsync(workDir, tool, litestream, pristine, nextBaseAfterDay: false).ConfigureAwait(false);
        }

        File.Delete(pristine);
        return result;
    }

    /// <summary>The portfolio database of <paramref name="mib"/> MiB, in WAL mode, made once and copied for each replicator.</summary>
    private static async Task<string> PristineAsync(string workDir, int mib)
    {
        var path = Path.Combine(workDir, $"pristine-{mib}.sqlite");
        var made = Stopwatch.StartNew();
        await PortfolioDatabase.CreateAsync(path, mib * 1048576L, CancellationToken.None).ConfigureAwait(false);
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL");
        }

        Bench.Log($"[history] {Report.MiB(new FileInfo(path).Length)} portfolio database made in {made.Elapsed.TotalSeconds:0} s");
        return path;
    }

    /// <summary>
    /// One replicator through a day: the database copied fresh, the replicator started (its next full copy due just
    /// after the day, or not in this run), the day's changes, then either that full copy awaited and the folder measured,
    /// or the replicator stopped and the newest point restored, timed and compared.
    /// </summary>
    private async Task<DayResult> DayAsync(string workDir, Tool tool, string litestream, string pristine, bool nextBaseAfterDay)
    {
        var dir = Path.Combine(workDir, $"day-{tool}");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        var db = Path.Combine(dir, "app.sqlite");
        File.Copy(pristine, db);
        var day = TimeSpan.FromSeconds(24 * _secondsPerHour);
        var nextBase = TimeProvider.System.GetUtcNow() + StartAllowance + day + (nextBaseAfterDay ? TimeSpan.Zero : TimeSpan.FromDays(30));
        using var replicator = await stream.StartAsync(tool, dir, db, litestream, null, nextBase).ConfigureAwait(false);
        var changed = await ChangeForADayAsync(db).ConfigureAwait(false);
        var replica = tool == Tool.Cellar ? Path.Combine(dir, "backups", "stream") : Path.Combine(dir, "replica");
        if (nextBaseAfterDay)
        {
            await WaitForSecondFullCopyAsync(tool, replica, nextBase + TimeSpan.FromMinutes(3)).ConfigureAwait(false);
        }

        // The last changes shipped (both sync at least every second), then a clean stop.
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var expected = Digest(db);
        await StreamBench.StopAsync(replicator).ConfigureAwait(false);
        var bytes = Directory.EnumerateFiles(replica, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Bench.Log($"[history] {tool}: the replica by kind of file: {Breakdown(replica)}");

        double? restoreSeconds = null;
        if (!nextBaseAfterDay)
        {
            var restored = Path.Combine(dir, "restored.sqlite");
            var clock = Stopwatch.StartNew();
            var run = tool == Tool.Cellar
                ? await Proc.RunAsync(cellar[0], [.. cellar[1..], "--config", Path.Combine(dir, "cellar.json"), "restore", "--latest", "live", "--to", restored]).ConfigureAwait(false)
                : await Proc.RunAsync(litestream, ["restore", "-config", Path.Combine(dir, "litestream.yml"), "-o", restored, db]).ConfigureAwait(false);
            restoreSeconds = clock.Elapsed.TotalSeconds;
            if (!run.Ok || Digest(restored) != expected)
            {
                throw new InvalidOperationException($"{tool}: the restore of the newest point {(run.Ok ? "does not hold the app's rows" : "failed")}: {run.Stderr} {run.Stdout}");
            }
        }

        Bench.Log($"[history] {tool}: {changed} page changes over the day; replica {Report.MiB(bytes)}{(restoreSeconds is { } s ? $", newest point restored in {s:0.00} s" : "")}");
        Directory.Delete(dir, recursive: true);
        return new DayResult(bytes, restoreSeconds);
    }

    /// <summary>24 hours of the app: each hour 1% of the database's pages changed (one image title each), in <see cref="TransactionsPerHour"/> transactions spread over it. Returns the rows changed.</summary>
    private async Task<long> ChangeForADayAsync(string db)
    {
        using var app = new SqliteConnection($"Data Source={db};Pooling=False");
        app.Open();
        Execute(app, "PRAGMA busy_timeout=5000");
        var pages = Scalar(app, "PRAGMA page_count");
        var (first, last) = (Scalar(app, "SELECT min(id) FROM images"), Scalar(app, "SELECT max(id) FROM images"));
        var perTransaction = Math.Max(1, pages / 100 / TransactionsPerHour);
        var pause = TimeSpan.FromSeconds((double)_secondsPerHour / TransactionsPerHour);
        var random = new Random(24); // the same day for both replicators
        var title = new char[24];
        using var update = app.CreateCommand();
        update.CommandText = "UPDATE images SET title = $title WHERE id = $id";
        var titleParameter = update.Parameters.Add("$title", SqliteType.Text);
        var idParameter = update.Parameters.Add("$id", SqliteType.Integer);
        var changed = 0L;
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < 24 * TransactionsPerHour; step++)
        {
            using (var transaction = app.BeginTransaction())
            {
                update.Transaction = transaction;
                for (var i = 0; i < perTransaction; i++)
                {
                    for (var c = 0; c < title.Length; c++)
                    {
                        title[c] = (char)('a' + random.Next(26));
                    }

                    (titleParameter.Value, idParameter.Value) = (new string(title), random.NextInt64(first, last + 1));
                    changed += update.ExecuteNonQuery();
                }

                transaction.Commit();
            }

            var due = pause * (step + 1);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed).ConfigureAwait(false);
            }
        }

        return changed;
    }

    private static async Task WaitForSecondFullCopyAsync(Tool tool, string replica, DateTimeOffset deadline)
    {
        var pattern = tool == Tool.Cellar ? "base-*.json" : "*.snapshot.lz4";
        while (Directory.EnumerateFiles(replica, pattern, SearchOption.AllDirectories).Count() < 2)
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new InvalidOperationException($"{tool} took no second full copy of the database by {deadline:HH:mm:ss}");
            }

            await Task.Delay(500).ConfigureAwait(false);
        }
    }

    /// <summary>The replica's bytes by what its files hold (full copies, page sets, segments, the rest), to show where storage goes.</summary>
    private static string Breakdown(string replica) => string.Join(", ", Directory.EnumerateFiles(replica, "*", SearchOption.AllDirectories)
        .GroupBy(f => Path.GetFileName(f) switch
        {
            var n when n.EndsWith(".pages.zst", StringComparison.Ordinal) => "page sets",
            var n when n.StartsWith("base-", StringComparison.Ordinal) && !n.EndsWith(".json", StringComparison.Ordinal) => "full bases",
            var n when n.EndsWith(".snapshot.lz4", StringComparison.Ordinal) => "snapshots",
            var n when n.EndsWith(".wal.lz4", StringComparison.Ordinal) || n.Contains("seg", StringComparison.Ordinal) => "segments",
            _ => "other",
        })
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .Select(g => $"{g.Key} {Report.MiB(g.Sum(f => new FileInfo(f).Length))} in {g.Count()} files"));

    /// <summary>The app's image titles, hashed in order: what a restore of the newest point must hold.</summary>
    private static string Digest(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT id, title FROM images ORDER BY id";
        using var rows = read.ExecuteReader();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        while (rows.Read())
        {
            hash.AppendData(BitConverter.GetBytes(rows.GetInt64(0)));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(rows.IsDBNull(1) ? "" : rows.GetString(1)));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}

/// <summary>One replicator's day: the bytes its folder held at the end, and (on the restore database) the restore's time.</summary>
internal sealed record DayResult(long ReplicaBytes, double? RestoreSeconds);

/// <summary>Everything the history suite measured.</summary>
internal sealed class HistoryResult(int storageMiB, int restoreMiB, int secondsPerHour)
{
    public int StorageMiB { get; } = storageMiB;

    public int RestoreMiB { get; } = restoreMiB;

    public int SecondsPerHour { get; } = secondsPerHour;

    public Dictionary<Tool, DayResult> Storage { get; } = [];

    public Dictionary<Tool, DayResult> Restore { get; } = [];
}

using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Demo;

namespace Cellar.Bench;

/// <summary>
/// The weekly table dump, side by side: the seed's <c>sqlite3 DB ".dump t1 t2 …" | gzip -6</c> against
/// <c>cellar run social</c> (gzip and zstd, verification included), on the same generated database.
/// </summary>
internal sealed class DumpBench(BenchOptions options, string[] cellar)
{
    /// <summary>The seed's social tables.</summary>
    public static readonly string[] Tables = ["comments", "likes", "reactions", "follows"];

    public async Task<DumpResult> RunSizeAsync(string workDir, int targetMiB)
    {
        var dir = Directory.CreateDirectory(Path.Combine(workDir, $"dump-{targetMiB}mib")).FullName;
        var db = Path.Combine(dir, "portfolio.sqlite");
        Bench.Log($"[{targetMiB} MiB] generating {db}");
        await PortfolioDatabase.CreateAsync(db, targetMiB * 1024L * 1024L, CancellationToken.None).ConfigureAwait(false);
        var runs = options.Runs ?? (targetMiB <= 100 ? 3 : 1);
        try
        {
            var sqlBytes = await SqlBytesAsync(db, dir).ConfigureAwait(false);
            var seed = await Bench.MeasureAsync($"[{targetMiB} MiB] seed .dump | gzip -6", runs, () => SeedOnceAsync(db, dir)).ConfigureAwait(false);
            var gzip = await Bench.MeasureAsync($"[{targetMiB} MiB] cellar run social (gzip)", runs, () => CellarOnceAsync(db, dir, "gzip")).ConfigureAwait(false);
            var zstd = await Bench.MeasureAsync($"[{targetMiB} MiB] cellar run social (zstd)", runs, () => CellarOnceAsync(db, dir, "zstd")).ConfigureAwait(false);
            return new DumpResult(targetMiB, new FileInfo(db).Length, sqlBytes, runs, seed, gzip, zstd);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>How much SQL the four tables make, uncompressed (the seed's dump to a file).</summary>
    private static async Task<long> SqlBytesAsync(string db, string dir)
    {
        var outPath = Path.Combine(dir, "plain.sql");
        var dump = await Proc.RunAsync("sqlite3", [db, $".dump {string.Join(' ', Tables)}"], stdoutPath: outPath).ConfigureAwait(false);
        Bench.Require(dump, "sqlite3 .dump");
        var bytes = new FileInfo(outPath).Length;
        File.Delete(outPath);
        return bytes;
    }

    /// <summary>
    /// The seed's weekly job as its cron line ran it: <c>sqlite3 DB ".dump TABLES" | gzip -6 &gt; OUT</c> in bash, so
    /// the pipe joins the two processes directly (relaying it through this process would slow the seed down).
    /// </summary>
    private static async Task<Sample> SeedOnceAsync(string db, string dir)
    {
        var outPath = Path.Combine(dir, "seed-social.sql.gz");
        File.Delete(outPath);
        var pipeline = $"set -o pipefail; sqlite3 \"$1\" \".dump {string.Join(' ', Tables)}\" | gzip -6 > \"$2\"";
        var run = await Proc.RunAsync("bash", ["-c", pipeline, "bash", db, outPath]).ConfigureAwait(false);
        Bench.Require(run, "seed .dump | gzip -6");
        var bytes = new FileInfo(outPath).Length;
        File.Delete(outPath);
        return new Sample(run.Elapsed.TotalSeconds, bytes);
    }

    /// <summary>The real CLI: <c>dotnet cellar.dll --config CFG run social</c>, verification included.</summary>
    private async Task<Sample> CellarOnceAsync(string db, string dir, string compression)
    {
        var root = Path.Combine(dir, "backups");
        Bench.DeleteDirectory(root);
        var config = Path.Combine(dir, $"cellar-dump-{compression}.json");
        var json = JsonSerializer.Serialize(new
        {
            database = db,
            backupRoot = root,
            logDir = Path.Combine(dir, "logs"),
            timeZone = "UTC",
            jobs = new Dictionary<string, object>
            {
                ["social"] = new
                {
                    type = "tables",
                    schedule = "0 3 * * 0",
                    folder = "social",
                    fileName = "social-tables-{yyyy}-{MM}-{dd}.sql",
                    keepDays = 84,
                    compression,
                    tables = Tables,
                },
            },
        });
        await File.WriteAllTextAsync(config, json).ConfigureAwait(false);
        try
        {
            var result = await Proc.RunAsync(cellar[0], [.. cellar[1..], "--config", config, "run", "social"]).ConfigureAwait(false);
            Bench.Require(result, $"cellar run social ({compression})");
            var path = result.LastStdoutLine;
            var sidecar = Sidecar.TryRead(path) ?? throw new InvalidOperationException($"cellar printed {path}, which has no sidecar");
            return new Sample(result.Elapsed.TotalSeconds, new FileInfo(path).Length, sidecar.DurationMs) { PeakRssBytes = result.PeakRssBytes };
        }
        finally
        {
            Bench.DeleteDirectory(root);
        }
    }
}

using static System.FormattableString;

namespace Cellar.Bench;

/// <summary>The stream suite's section of the report: each measure as Cellar vs Litestream, with the issue's target.</summary>
internal static class StreamReport
{
    public static string ToMarkdown(StreamResult r, BenchOptions options, Machine machine, DateTimeOffset started)
    {
        string Failed(Tool tool) => r.FailedRestores[tool] == 0 ? "" : Invariant($"; {r.FailedRestores[tool]} kill(s) left out: the replica would not restore, twice");
        string Lost(List<Loss> losses) => Invariant($"{losses.Average(l => l.Lost):0} of {losses.Average(l => l.Committed):0} ({losses.Average(l => l.Lost) / 200.0 * 1000:0} ms of writes; {losses.Count} runs: {string.Join(", ", losses.Select(l => l.Lost))})");
        string Steady(Steady s) => Invariant($"{s.Rate:0} tx/s, p99 {s.P99Ms:0.00} ms, WAL at most {s.LargestWalBytes / 1048576.0:0.0} MiB");
        double P99(Tool tool) => OffsiteBench.Median(r.Steady[tool].Select(s => s.P99Ms));
        string Latency(Tool tool) => Invariant($"p99 median {P99(tool):0.00} ms (runs: {string.Join(", ", r.Steady[tool].Select(s => s.P99Ms.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))}), WAL at most {r.Steady[tool].Max(s => s.LargestWalBytes) / 1048576.0:0.0} MiB");
        string[] rows =
        [
            Invariant($"| commits lost, app and replicator SIGKILLed together, 200 tx/s, local folder (mean) | {Lost(r.LostLocal[Tool.Cellar])} | {Lost(r.LostLocal[Tool.Litestream])} | <= 1/10 of Litestream's |"),
            Invariant($"| same, to s3rver (mean) | {Lost(r.LostOffsite[Tool.Cellar])}{Failed(Tool.Cellar)} | {Lost(r.LostOffsite[Tool.Litestream])}{Failed(Tool.Litestream)} | <= Litestream's |"),
            Invariant($"| requests per hour to s3rver at 200 tx/s | {r.LostOffsite[Tool.Cellar].Average(l => l.RequestsPerHour):0} | {r.LostOffsite[Tool.Litestream].Average(l => l.RequestsPerHour):0} | fewer than Litestream's |"),
            Invariant($"| restore of the newest point after the kill (a few MiB, about 11 s of history; whole process) | local {r.LostLocal[Tool.Cellar].Average(l => l.RestoreSeconds):0.00} s, from s3rver {r.LostOffsite[Tool.Cellar].Average(l => l.RestoreSeconds):0.00} s | local {r.LostLocal[Tool.Litestream].Average(l => l.RestoreSeconds):0.00} s, from the mirrored bucket {r.LostOffsite[Tool.Litestream].Average(l => l.RestoreSeconds):0.00} s | <= Litestream's |"),
            Invariant($"| the app at 500 tx/s, 20 s each, {r.Steady[Tool.None].Count} rounds of the three back to back; no replicator: {Latency(Tool.None)} | {Latency(Tool.Cellar)}: {P99(Tool.Cellar) / P99(Tool.None):0.00}x | {Latency(Tool.Litestream)}: {P99(Tool.Litestream) / P99(Tool.None):0.00}x | p99 <= 1.2x; WAL <= 64 MiB |"),
            Invariant($"| the app unthrottled, no replicator: {Steady(r.Unthrottled[Tool.None])} | {Steady(r.Unthrottled[Tool.Cellar])} | {Steady(r.Unthrottled[Tool.Litestream])} | WAL bounded; reported |"),
            Invariant($"| replicator CPU, app idle / 200 tx/s | {r.Cpu[Tool.Cellar].IdleSecondsPerMinute:0.00} / {r.Cpu[Tool.Cellar].BusySecondsPerMinute:0.00} CPU-s per min | {r.Cpu[Tool.Litestream].IdleSecondsPerMinute:0.00} / {r.Cpu[Tool.Litestream].BusySecondsPerMinute:0.00} CPU-s per min | reported |"),
        ];
        return Report.Section(
            "Continuous replication vs Litestream",
            "A stream job (`cellar serve`, the native AOT binary `dotnet publish` makes, default settings: segments sealed every 10 s, offsite every 0.8 s) and Litestream v0.3.13 (npm `@flydotio/litestream-linux-x64`, default settings: 1 s sync interval) each follow a database the load writer commits to (one parent and one child row per transaction, WAL mode). Loss: after a 3 s warm-up and 6 s of commits at 200 tx/s plus a moment of the next 4 s (a whole number of either replicator's cycles: Litestream's 1 s, Cellar's 0.8 s), stratified (round r of N draws from the r-th N-th of the 4 s, seeded; the same moments for both), one `kill -KILL` for the app and the replicator together; the replica (the job's folder / Litestream's replica folder; or, offsite, the bucket alone: `cellar restore --from`, `litestream restore`) is restored and its last commit compared with the app's. Requests are those s3rver answered from the end of the warm-up to the kill, scaled to an hour. Latency and WAL: the app for 20 s at 500 tx/s (min(N, 6) rounds, each the app alone, under Cellar and under Litestream back to back; medians) and unthrottled (once), the `-wal` file's size sampled every 100 ms. CPU: utime + stime of the replicator over 30 s at 200 tx/s, then 30 s with the app connected and idle.",
            options,
            machine,
            started,
            "| measure | Cellar | Litestream | target |",
            rows);
    }
}

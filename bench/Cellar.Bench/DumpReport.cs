using System.Text;

namespace Cellar.Bench;

/// <summary>The table-dump section of docs/BENCHMARKS.md.</summary>
internal static class DumpReport
{
    private const double SpeedupTarget = 3;

    public static string ToMarkdown(BenchOptions options, Machine machine, DateTimeOffset started, string loadBefore, string loadAfter, IReadOnlyList<DumpResult> results)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        Line("## Table dumps");
        Line();
        Line($"The weekly dump of the seed's social tables ({string.Join(", ", DumpBench.Tables)}): the seed's `sqlite3 DB \".dump TABLES\" | gzip -6 > OUT`, run by bash as its cron line ran it (the pipe joins the two processes directly), against `cellar run social` (the native binary, as shipped), which also fsyncs and proves each compressed block against the SQL as it is made, then reads the stored file back; the load drill (the SQL run into an empty database, every table counted) is the dump's full check, which follows in the daemon. Target: at least {SpeedupTarget:0}x faster at equal output size, with flat memory. Produced by:");
        Line();
        Line("```");
        Line(options.CommandLine);
        Line("```");
        Line();
        Line(FormattableString.Invariant($"Machine: {machine.Cores} cores, {machine.Cpu}; started {started:yyyy-MM-dd HH:mm} UTC; load average before {loadBefore}, after {loadAfter}. Wall times are the median of the runs."));
        Line();
        Line("| database | SQL text | seed `.dump \\| gzip -6` | `cellar run social` gzip | ratio | size vs seed | peak RSS | `cellar run social` zstd | ratio | size vs seed | peak RSS |");
        Line("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var seed = r.Seed.Median;
            Line($"| {Report.MiB(r.DbBytes)} ({r.Runs} run{(r.Runs == 1 ? "" : "s")}) | {Report.MiB(r.SqlBytes)} | {Cell(seed)} | {Cell(r.CellarGzip.Median)} | {Ratio(seed, r.CellarGzip.Median)} | {Size(seed, r.CellarGzip.Median)} | {Rss(r.CellarGzip.Median)} | {Cell(r.CellarZstd.Median)} | {Ratio(seed, r.CellarZstd.Median)} | {Size(seed, r.CellarZstd.Median)} | {Rss(r.CellarZstd.Median)} |");
        }

        Line();
        foreach (var r in results.Where(r => (r.Seed.Error ?? r.CellarGzip.Error ?? r.CellarZstd.Error) is not null))
        {
            Line($"- {Report.MiB(r.DbBytes)}: failed: {r.Seed.Error ?? r.CellarGzip.Error ?? r.CellarZstd.Error}");
        }

        return md.ToString();
    }

    private static string Cell(Sample? s) => s is null ? "failed" : FormattableString.Invariant($"{s.Seconds:0.00} s, {Report.MiB(s.Bytes ?? 0)}");

    private static string Ratio(Sample? seed, Sample? ours) => seed is null || ours is null ? "" : FormattableString.Invariant($"{seed.Seconds / ours.Seconds:0.00}x");

    private static string Size(Sample? seed, Sample? ours) => seed?.Bytes is { } a && ours?.Bytes is { } b ? FormattableString.Invariant($"{((double)b / a - 1) * 100:+0.0;-0.0;0.0}%") : "";

    private static string Rss(Sample? s) => s?.PeakRssBytes is { } rss ? Report.MiB(rss) : "";
}

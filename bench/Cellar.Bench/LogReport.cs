using System.Globalization;
using System.Text;

namespace Cellar.Bench;

/// <summary>The log-rotation section of docs/BENCHMARKS.md.</summary>
internal static class LogReport
{
    public static string ToMarkdown(BenchOptions options, Machine machine, DateTimeOffset started, LogResult r)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        Line("## Log rotation");
        Line();
        Line("A writer process (`Cellar.LoadWriter log`) appends numbered lines as fast as it can, one `write(2)` per line, while the log is rotated every 200 ms: "
            + $"{LogBench.CellarRotations} times by `cellar run logs` (collapse), {LogBench.LogrotateRotations} times by `logrotate -f` with `copytruncate`. "
            + "Afterwards every number is looked for across the archives and the live file. Then large request logs are rotated once each, against `gzip -6` of the same file. Produced by:");
        Line();
        Line("```");
        Line(options.CommandLine);
        Line("```");
        Line();
        Line(FormattableString.Invariant($"Machine: {machine.Cores} cores, {machine.Cpu}; started {started:yyyy-MM-dd HH:mm} UTC."));
        Line();
        Line("| rotator | writer | rotations | lines written | lines/s | lost | repeated | NUL bytes | note |");
        Line("|---|---|---|---|---|---|---|---|---|");
        Row(md, "Cellar (collapse)", "O_APPEND", r.CellarAppend);
        Row(md, "Cellar", "no O_APPEND", r.CellarNoAppend);
        Row(md, "logrotate copytruncate", "O_APPEND", r.LogrotateAppend);
        Row(md, "logrotate copytruncate", "no O_APPEND", r.LogrotateNoAppend);
        Line();
        Line("| log | `gzip -6 -c` | `cellar run logs` (archive, fsync, verify by decompressing, collapse) | speed vs gzip -6 | archive size vs gzip -6 |");
        Line("|---|---|---|---|---|");
        foreach (var s in r.Speeds)
        {
            var gzip = s.Gzip.Median;
            var cellar = s.Cellar.Median;
            Line(FormattableString.Invariant($"| {Report.MiB(s.LogBytes)} | {Cell(gzip)} | {Cell(cellar)} | ")
                + (gzip is not null && cellar is not null
                    ? FormattableString.Invariant($"{gzip.Seconds / cellar.Seconds:0.0}x | {((double)(cellar.Bytes ?? 0) / (gzip.Bytes ?? 1) - 1) * 100:+0.0;-0.0}% |")
                    : " | |"));
        }

        return md.ToString();
    }

    private static void Row(StringBuilder md, string rotator, string writer, LossResult l) =>
        md.Append(CultureInfo.InvariantCulture, $"| {rotator} | {writer} | {l.Rotations - l.Refused} of {l.Rotations} | {l.Written} | {l.LinesPerSecond:0} | {l.Lost} ({(double)l.Lost / Math.Max(1, l.Written) * 100:0.00}%) | {l.Repeated} | {l.NulBytes} | {(l.Refused > 0 ? "refused: " + l.FirstRefusal?.Replace("|", "\\|", StringComparison.Ordinal) : "")} |\n");

    private static string Cell(Sample? s) => s is null ? "failed" : FormattableString.Invariant($"{s.Seconds:0.00} s ({Report.MiB(s.Bytes ?? 0)}, peak RSS {Report.MiB(s.PeakRssBytes ?? 0)})");
}

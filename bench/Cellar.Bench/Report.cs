using System.Globalization;
using System.Text;

namespace Cellar.Bench;

/// <summary>Turns the measurements into docs/BENCHMARKS.md.</summary>
/// <remarks>Over 300 lines on purpose: every table and note of docs/BENCHMARKS.md is written here, in the order the page reads.</remarks>
internal sealed class Report(
    Machine machine,
    BenchOptions options,
    DateTimeOffset started,
    TimeSpan duration,
    string loadBefore,
    string loadAfter,
    double maxLoad,
    IReadOnlyList<SizeResult> sizes,
    BusyResult? busy)
{
    private const double GzipSpeedupTarget = 3;
    private const double GzipSizeTolerance = 0.05;
    private const double ZstdSpeedupTarget = 8;
    private const double ZstdSpeedupTargetSmall = 5;
    private const int SmallMiB = 50;
    private const double ZstdSecondsTargetPerGiB = 6;

    private readonly StringBuilder _md = new();

    public static string MiB(long bytes) => Invariant($"{bytes / 1048576.0:0.0} MiB");

    /// <summary>A one-table section of its own (daemon, offsite): title, what was measured, the command, the machine, the table.</summary>
    public static string Section(string title, string what, BenchOptions options, Machine machine, DateTimeOffset started, string header, IEnumerable<string> rows) => string.Join('\n',
        [
            $"## {title}",
            "",
            what + " Produced by:",
            "",
            "```",
            options.CommandLine,
            "```",
            "",
            Invariant($"Machine: {machine.Cores} cores, {machine.Cpu}; started {started:yyyy-MM-dd HH:mm} UTC."),
            "",
            header,
            string.Concat(Enumerable.Repeat("|---", header.Count(c => c == '|') - 1)) + "|",
            .. rows,
            "",
        ]);

    public string ToMarkdown()
    {
        Intro();
        Headline();
        MachineSection();
        foreach (var size in sizes)
        {
            SizeSection(size);
        }

        BusySection();
        SnapshotSection();
        Line("## Conditions and caveats");
        Line();
        var busyMachine = maxLoad > machine.Cores * 0.75
            ? Invariant($" The 1-minute load average reached {maxLoad:0.0} on {machine.Cores} cores during the run: part of that is the bench's own background work (the writer process, page-cache writeback); anything else running at the same time adds noise, and the multi-threaded rows (Cellar, `zstd -T0`) lose more to it than the single-threaded seed pipeline and `gzip`.")
            : Invariant($" The 1-minute load average stayed at or below {maxLoad:0.0} on {machine.Cores} cores.");
        Line(Invariant($"- Load average (1/5/15 min) before the run: {loadBefore}; after: {loadAfter}.{busyMachine}"));
        Line(Invariant($"- The databases come from `PortfolioDatabase.CreateAsync` (users, galleries, comments, likes, and random bytes standing in for JPEG thumbnails). Like real JPEGs those blobs barely compress: `gzip -6` keeps {CompressedShare()} of the input, and most of gzip's time goes into trying to compress them."));
        Line("- Everything runs in one process tree on one disk: the databases, copies and backups live in a temporary folder under the work dir, deleted at the end. The page cache is warm (RAM is many times the database), so reads come from memory and the numbers reflect CPU and write cost. `sync` runs before every measurement so one run's write-back is not charged to the next.");
        Line("- The seed pipeline neither fsyncs nor verifies; `cellar run daily` does both (fsync of the backup and its sidecar, then the quick proof: each compressed block decompressed and compared with what went in as it is made, the stored file read back against the blocks' fingerprints, `PRAGMA quick_check` and row counts on the snapshot; the full check, `integrity_check` and `foreign_key_check`, follows in the daemon and is measured on its own below). Cellar's wall time also includes starting the process (a few ms for the native binary, ~0.1–0.3 s for the JIT build with its first compilations); the sidecar's `durationMs` is Cellar's own clock around the backup, without process start-up, config loading or pruning.");
        Line(Invariant($"- Bench duration: {duration.TotalMinutes:0.0} min, started {started:yyyy-MM-dd HH:mm} UTC."));
        return _md.ToString();
    }

    private void Intro()
    {
        Line("# Benchmarks");
        Line();
        Line("Cellar's backup against the seed's nightly job, measured side by side in one run on generated databases. Produced by:");
        Line();
        Line("```");
        Line(options.CommandLine);
        Line("```");
        Line();
        Line("What each row is:");
        Line();
        Line("- **(a) seed pipeline**: what the seed ran, `sqlite3 DB \".backup OUT\"` then `gzip -6 OUT` (two processes, started with an argument list, no shell). Every speed-up is relative to this row, measured here in the same run. The issue's reference numbers for it were **3.6 s for 50 MB** and **60 s for 1 GB**.");
        Line("- **(b) floor**: `cp DB OUT` then `sync OUT` (fsync of the copy). No durable backup can be faster than reading and writing the bytes once.");
        Line("- **(c) size reference**: `gzip -6 -c DB`, single-threaded gzip of the raw file. The gzip target's \"size within 5%\" is measured against it. `zstd -3 -T0 -c DB` is the same for zstd (the CLI on every core), for comparison.");
        Line("- **(d) Cellar**: the real CLI as shipped (the native AOT binary the image runs, published by the bench from this checkout), `cellar --config CFG run daily`, once with `\"compression\": \"gzip\"` and once with `\"zstd\"`. The time is the whole process: start-up, a snapshot through SQLite's online backup API under one read transaction, compression on every core with each block proven as it is made, fsync, the stored file read back, `quick_check` and row counts, the sidecar, pruning. The sidecar's `durationMs` is shown beside it. **(d′)** is the same run on the JIT build (`dotnet src/Cellar/bin/Release/net10.0/cellar.dll`, what the README's demo command runs), for comparison: its start-up and the JIT's first compilations are the difference.");
        Line();
        Line(Invariant($"Targets (from the issue): gzip at least **{GzipSpeedupTarget:0}× faster** than the seed pipeline with a file no more than **{GzipSizeTolerance * 100:0}% larger** than `gzip -6`; zstd at least **{ZstdSpeedupTarget:0}× faster** and **under {ZstdSecondsTargetPerGiB:0} s for 1 GB**; for the {SmallMiB} MB demo, whole process, gzip at least {GzipSpeedupTarget:0}× and zstd at least **{ZstdSpeedupTargetSmall:0}×**. Then a busy database (an app committing 500 times a second while each tool backs it up), and the cost of taking the snapshot with SQLite's backup API rather than `cp`."));
        Line();
    }

    private void Headline()
    {
        Line("## Headline");
        Line();
        foreach (var size in sizes)
        {
            var seed = size.Seed.Median;
            var gzip = size.CellarGzip.Median;
            var zstd = size.CellarZstd.Median;
            var reference = size.GzipReference.Median;
            if (seed is null || gzip is null || zstd is null)
            {
                Line(Invariant($"- **{size.TargetMiB} MiB**: incomplete, see the table below."));
                continue;
            }

            var sizeDelta = reference?.Bytes is { } r && gzip.Bytes is { } g ? Invariant($", {Delta(g, r)} vs `gzip -6`") : "";
            Line(Invariant(
                $"- **{MiB(size.DbBytes)}**: seed pipeline {Sec(seed.Seconds)}; Cellar gzip {Sec(gzip.Seconds)} (**{seed.Seconds / gzip.Seconds:0.0}×**{sizeDelta}; {GzipTarget(size)}); Cellar zstd {Sec(zstd.Seconds)} (**{seed.Seconds / zstd.Seconds:0.0}×**; {ZstdTarget(size)}); `cp` + fsync {Sec(size.CpFsync.Median?.Seconds)}."));
        }

        if (busy is not null)
        {
            foreach (var summary in BusySummaries())
            {
                Line($"- {summary}");
            }
        }

        Line();
    }

    private void MachineSection()
    {
        Line("## Machine");
        Line();
        Line("| | |");
        Line("|---|---|");
        Line(Invariant($"| CPU | {machine.Cpu}, {machine.Cores} cores (`nproc`) |"));
        Line($"| RAM | {machine.Ram} |");
        Line($"| Kernel | {machine.Kernel} |");
        Line($"| Disk | {machine.Disk} |");
        Line($"| .NET | {machine.Runtime} |");
        Line($"| Tools | sqlite3 {machine.Sqlite}; {machine.Gzip}; {machine.Zstd} |");
        Line();
    }

    private void SizeSection(SizeResult size)
    {
        var seed = size.Seed.Median;
        var reference = size.GzipReference.Median?.Bytes;
        Line(Invariant($"## ~{Label(size.TargetMiB)} database ({MiB(size.DbBytes)} on disk)"));
        Line();
        var issue = size.TargetMiB switch
        {
            50 => " The issue measured the seed pipeline at 3.6 s for 50 MB",
            1024 => " The issue measured the seed pipeline at 60 s for 1 GB",
            _ => null,
        };
        var issueText = issue is null || seed is null ? "" : Invariant($"{issue}; here it took {Sec(seed.Seconds)}.");
        Line(Invariant($"Generated in {size.GenerateSeconds:0.0} s. {RunsText(size.Runs)}{issueText}"));
        Line();
        Line("| Row | Command | Wall time | Output size | Speed-up vs seed | Size vs `gzip -6` | Target | Notes |");
        Line("|---|---|---:|---:|---:|---:|---|---|");

        Row("(a) seed pipeline", "`sqlite3 DB \".backup OUT\"` + `gzip -6 OUT`", size.Seed, seed, reference, "—",
            m => Invariant($".backup {Sec(m.FirstPartSeconds)} + gzip {Sec(m.SecondPartSeconds)}"));
        Row("(b) floor", "`cp DB OUT` + `sync OUT`", size.CpFsync, seed, null, "—",
            m => Invariant($"cp {Sec(m.FirstPartSeconds)} + fsync {Sec(m.SecondPartSeconds)}"));
        Row("(c) size reference", "`gzip -6 -c DB`", size.GzipReference, seed, reference, "—", _ => "single-threaded");
        Row("zstd reference", "`zstd -3 -T0 -c DB`", size.ZstdReference, seed, reference, "—", _ => "zstd CLI, all cores");
        Row("(d) Cellar, gzip", "`cellar run daily` (gzip)", size.CellarGzip, seed, reference, GzipTarget(size),
            m => Invariant($"sidecar durationMs {m.SidecarMs}"));
        Row("(d) Cellar, zstd", "`cellar run daily` (zstd)", size.CellarZstd, seed, reference, ZstdTarget(size),
            m => Invariant($"sidecar durationMs {m.SidecarMs}"));
        Row("(d′) JIT build, gzip", "`dotnet cellar.dll run daily` (gzip)", size.JitGzip, seed, reference, "—",
            m => Invariant($"sidecar durationMs {m.SidecarMs}"));
        Row("(d′) JIT build, zstd", "`dotnet cellar.dll run daily` (zstd)", size.JitZstd, seed, reference, "—",
            m => Invariant($"sidecar durationMs {m.SidecarMs}"));
        Line();
        var fullCheck = size.FullCheck.Median;
        Line(fullCheck is null
            ? $"Full check (stage 2) of the zstd backup: failed: {size.FullCheck.Error}"
            : Invariant($"Full check (stage 2) of the zstd backup, `cellar verify FILE` (expand, `integrity_check`, `foreign_key_check`, row counts), measured alone: **{Sec(fullCheck.Seconds)}** wall, **{fullCheck.CpuSeconds:0.0} CPU-s**. The daemon runs it after the backup once the machine is quiet, at low CPU and I/O priority."));
        Line();
    }

    private void Row(string name, string command, Measurement measurement, Sample? seed, long? reference, string target, Func<Sample, string> notes)
    {
        var median = measurement.Median;
        if (median is null)
        {
            Line($"| {name} | {command} | failed | | | | {target} | {Escape(measurement.Error ?? "no data")} |");
            return;
        }

        var speedup = seed is null ? "" : Invariant($"{seed.Seconds / median.Seconds:0.0}×");
        var delta = reference is { } r && median.Bytes is { } b ? Delta(b, r) : "";
        var spread = measurement.Samples.Count > 1 ? Invariant($"; runs {Sec(measurement.MinSeconds)}–{Sec(measurement.MaxSeconds)}") : "";
        var error = measurement.Error is null ? "" : $"; later run failed: {Escape(measurement.Error)}";
        Line($"| {name} | {command} | {Sec(median.Seconds)} | {(median.Bytes is { } bytes ? MiB(bytes) : "")} | {speedup} | {delta} | {target} | {notes(median)}{spread}{error} |");
    }

    private static string GzipTarget(SizeResult size)
    {
        var seed = size.Seed.Median;
        var gzip = size.CellarGzip.Median;
        var reference = size.GzipReference.Median?.Bytes;
        if (seed is null || gzip?.Bytes is null || reference is null)
        {
            return "n/a";
        }

        var speedup = seed.Seconds / gzip.Seconds;
        var ratio = (double)gzip.Bytes.Value / reference.Value;
        var fast = speedup >= GzipSpeedupTarget;
        var small = ratio <= 1 + GzipSizeTolerance;
        return Invariant($"≥{GzipSpeedupTarget:0}×: {(fast ? "**met**" : "**missed**")}; ≤+{GzipSizeTolerance * 100:0}%: {(small ? "**met**" : "**missed**")}");
    }

    private static string ZstdTarget(SizeResult size)
    {
        var seed = size.Seed.Median;
        var zstd = size.CellarZstd.Median;
        if (seed is null || zstd is null)
        {
            return "n/a";
        }

        var target = size.TargetMiB <= SmallMiB ? ZstdSpeedupTargetSmall : ZstdSpeedupTarget;
        var fast = seed.Seconds / zstd.Seconds >= target;
        var text = Invariant($"≥{target:0}×: {(fast ? "**met**" : "**missed**")}");
        if (size.TargetMiB >= 1024)
        {
            var limit = ZstdSecondsTargetPerGiB * size.TargetMiB / 1024.0;
            text += Invariant($"; <{limit:0} s: {(zstd.Seconds < limit ? "**met**" : "**missed**")}");
        }

        return text;
    }

    private void BusySection()
    {
        Line("## Busy database");
        Line();
        if (busy is null)
        {
            Line("Not run (`--busy-size 0`, or no size matched).");
            Line();
            return;
        }

        Line(Invariant($"The ~{Label(busy.TargetMiB)} database ({MiB(busy.DbBytes)}) while `tests/Cellar.LoadWriter` plays the app: {busy.Rate} commits/s, each `BEGIN IMMEDIATE`, two inserts, `COMMIT` (busy_timeout 10 s). Its latencies are per commit, busy waits included; with a backup it runs from 1 s before the backup starts to 1 s after it ends (the seed's `.backup` is killed after {options.BackupTimeoutSeconds} s). \"Busy errors\" are commits that gave up after the busy timeout. First in WAL mode (how the app runs), then on a copy converted with `PRAGMA journal_mode=DELETE` (rollback journal) with the writer in `--journal delete`. The \"no writer\" rows are Cellar on the same file just before, for comparison."));
        Line();
        Line("| Journal | Scenario | Outcome | Backup wall time | Sidecar durationMs | writersHeldOffMs | Writer commits | p50 | p99 | max | Busy errors |");
        Line("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in busy.Rows)
        {
            var w = row.Writer;
            Line(Invariant(
                $"| {row.Journal} | {row.Scenario} | {Escape(row.Outcome)} | {Sec(row.BackupSeconds)} | {row.SidecarMs?.ToString(CultureInfo.InvariantCulture) ?? ""} | {row.HeldOffMs?.ToString(CultureInfo.InvariantCulture) ?? ""} | {w?.Commits.ToString(CultureInfo.InvariantCulture) ?? ""} | {Ms(w?.P50Ms)} | {Ms(w?.P99Ms)} | {Ms(w?.MaxMs)} | {w?.BusyErrors.ToString(CultureInfo.InvariantCulture) ?? ""} |"));
        }

        Line();
        if (busy.Error is not null)
        {
            Line($"The scenario stopped early: {Escape(busy.Error)}");
            Line();
        }

        foreach (var summary in BusySummaries())
        {
            Line($"- {summary}");
        }

        Line();
    }

    private IEnumerable<string> BusySummaries()
    {
        if (busy is null)
        {
            yield break;
        }

        foreach (var journal in new[] { "wal", "delete" })
        {
            var rows = busy.Rows.Where(r => r.Journal == journal).ToList();
            if (rows.Count < 4)
            {
                continue;
            }

            var (alone, seed, idleCellar, busyCellar) = (rows[0], rows[1], rows[2], rows[3]);
            var mode = journal == "wal" ? "WAL" : "Rollback journal";
            var seedText = seed.Outcome.StartsWith("did not finish", StringComparison.Ordinal)
                ? $"`sqlite3 .backup` {FirstClause(seed.Outcome)}"
                : Invariant($"`sqlite3 .backup` {FirstClause(seed.Outcome)} after {Sec(seed.BackupSeconds)}");
            if (busyCellar.BackupSeconds is null || idleCellar.BackupSeconds is null || busyCellar.Writer is null || alone.Writer is null)
            {
                yield return $"{mode}, busy: {seedText}; Cellar: {busyCellar.Outcome}.";
                continue;
            }

            var held = busyCellar.HeldOffMs is { } h ? Invariant($", writers held off {h} ms") : "";
            yield return Invariant(
                $"{mode}, busy: {seedText}; Cellar finished a verified backup in {Sec(busyCellar.BackupSeconds)} vs {Sec(idleCellar.BackupSeconds)} idle{held}; writer p99 {Ms(busyCellar.Writer.P99Ms)} (max {Ms(busyCellar.Writer.MaxMs)}, {busyCellar.Writer.BusyErrors} busy errors) vs {Ms(alone.Writer.P99Ms)} alone.");
        }
    }

    private void SnapshotSection()
    {
        Line("## Snapshot method");
        Line();
        Line("How Cellar copies the live database, alone (no compression): SQLite's online backup API inside one read transaction (`SqliteSnapshot.CopyAsync`, in process, into a scratch file with `synchronous=OFF`), against `cp` of the file, with and without fsync, and the seed's `sqlite3 .backup` step (from row (a)). `cp` is only safe on a database nobody writes to (it can copy a torn mix of pages, and misses a WAL's committed contents), so the question is what the API's consistency costs. Median of the runs, range in brackets.");
        Line();
        Line("| Database | SQLite backup API (`SqliteSnapshot.CopyAsync`) | `cp` | `cp` + fsync | `sqlite3 .backup` | API vs `cp` |");
        Line("|---|---:|---:|---:|---:|---:|");
        foreach (var size in sizes)
        {
            var api = size.ApiCopy.Median?.Seconds;
            var cp = size.Cp.Median?.Seconds;
            var ratio = api is { } a && cp is { } c && c > 0 ? Invariant($"{a / c:0.0}×") : "";
            Line(Invariant($"| {MiB(size.DbBytes)} | {Cell(size.ApiCopy)} | {Cell(size.Cp)} | {Cell(size.CpFsyncForSnapshot)} | {Cell(size.SeedBackupStep)} | {ratio} |"));
        }

        Line();
    }

    private string CompressedShare()
    {
        var shares = sizes
            .Where(s => s.GzipReference.Median?.Bytes is not null && s.DbBytes > 0)
            .Select(s => (double)s.GzipReference.Median!.Bytes!.Value / s.DbBytes)
            .ToList();
        if (shares.Count == 0)
        {
            return "most";
        }

        var (low, high) = (Invariant($"{shares.Min() * 100:0}%"), Invariant($"{shares.Max() * 100:0}%"));
        return low == high ? low : $"{low}–{high}";
    }

    private static string Cell(Measurement m)
    {
        if (m.Median is not { } median)
        {
            return m.Error is null ? "" : "failed";
        }

        return m.Samples.Count > 1 ? $"{Sec(median.Seconds)} ({Sec(m.MinSeconds)}–{Sec(m.MaxSeconds)})" : Sec(median.Seconds);
    }

    private static string RunsText(int runs) => runs == 1
        ? "One run per row."
        : Invariant($"Median of {runs} runs per row (the range is in the notes).");

    private static string Label(int mib) => mib >= 1024 && mib % 1024 == 0 ? Invariant($"{mib / 1024} GiB") : Invariant($"{mib} MiB");

    private static string Sec(double? seconds) => seconds switch
    {
        null => "",
        double s when double.IsNaN(s) => "",
        < 10 => Invariant($"{seconds:0.00} s"),
        _ => Invariant($"{seconds:0.0} s"),
    };

    private static string Ms(double? ms) => ms is { } v && !double.IsNaN(v) ? Invariant($"{v:0.0} ms") : "";

    private static string Delta(long bytes, long reference) => Invariant($"{((double)bytes / reference - 1) * 100:+0.0;-0.0;0.0}%");

    private static string FirstClause(string text)
    {
        var semicolon = text.IndexOf(';', StringComparison.Ordinal);
        return semicolon < 0 ? text : text[..semicolon];
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private void Line(string text = "") => _md.Append(text).Append('\n');
}

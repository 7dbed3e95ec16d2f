using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Cellar.Demo;
using Cellar.Core.Logs;

namespace Cellar.Bench;

/// <summary>
/// Log rotation side by side: a writer appending numbered lines as fast as it can while Cellar (collapse) and
/// logrotate (<c>copytruncate</c>) rotate its log, counting lost and repeated lines and NUL bytes; and the time
/// and memory to rotate a 1 GB log against <c>gzip -6</c> of the same file.
/// </summary>
internal sealed class LogBench(string cellarDll, string writerDll)
{
    public const int CellarRotations = 20;
    public const int LogrotateRotations = 5;

    public async Task<LogResult> RunAsync(string workDir, IReadOnlyList<int> logMiB)
    {
        var cellarAppend = await LossAsync(workDir, "cellar-append", append: true, cellar: true).ConfigureAwait(false);
        var cellarCareless = await LossAsync(workDir, "cellar-noappend", append: false, cellar: true).ConfigureAwait(false);
        var logrotateAppend = await LossAsync(workDir, "logrotate-append", append: true, cellar: false).ConfigureAwait(false);
        var logrotateCareless = await LossAsync(workDir, "logrotate-noappend", append: false, cellar: false).ConfigureAwait(false);
        var speeds = new List<SpeedResult>();
        foreach (var mib in logMiB)
        {
            speeds.Add(await SpeedAsync(workDir, mib).ConfigureAwait(false));
        }

        return new LogResult(cellarAppend, cellarCareless, logrotateAppend, logrotateCareless, speeds);
    }

    /// <summary>One writer, N rotations, then every line accounted for.</summary>
    private async Task<LossResult> LossAsync(string workDir, string name, bool append, bool cellar)
    {
        var dir = Directory.CreateDirectory(Path.Combine(workDir, name)).FullName;
        var log = Path.Combine(dir, "backend.log");
        var config = cellar ? await CellarConfigAsync(dir, log, Path.Combine(dir, "archive")).ConfigureAwait(false) : LogrotateConfig(dir, log);
        var rotations = cellar ? CellarRotations : LogrotateRotations;
        var start = Proc.StartInfo(Proc.DotnetHost(), [writerDll, "log", "--path", log, .. append ? Array.Empty<string>() : ["--no-append"]], redirectStdin: true);
        using var writer = Process.Start(start)!;
        await writer.StandardOutput.ReadLineAsync().ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var failures = 0;
        string? firstFailure = null;
        for (var i = 0; i < rotations; i++)
        {
            await Task.Delay(200).ConfigureAwait(false);
            var run = cellar
                ? await Proc.RunAsync(Proc.DotnetHost(), [cellarDll, "--config", config, "run", "logs"]).ConfigureAwait(false)
                : await Proc.RunAsync("/usr/sbin/logrotate", ["-f", "-s", Path.Combine(dir, "logrotate.state"), config]).ConfigureAwait(false);
            if (!run.Ok)
            {
                failures++;
                firstFailure ??= run.FirstErrorLine;
            }
        }

        writer.StandardInput.Close();
        var output = await writer.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await writer.WaitForExitAsync().ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var written = json.RootElement.GetProperty("lines").GetInt64();

        var text = cellar ? CellarText(Path.Combine(dir, "archive"), log) : LogrotateText(dir, log);
        var result = Count(name, rotations, written, seconds, text, failures, firstFailure);
        Bench.Log($"[logs] {name}: {written} lines at {written / seconds:0} lines/s, {rotations} rotations: lost {result.Lost}, repeated {result.Repeated}, NUL bytes {result.NulBytes}"
            + (failures > 0 ? $", {failures} rotation(s) refused: {firstFailure}" : ""));
        Directory.Delete(dir, recursive: true);
        return result;
    }

    private static LossResult Count(string name, int rotations, long written, double seconds, byte[] text, int failures, string? firstFailure)
    {
        var nul = text.AsSpan().Count((byte)0);
        var seen = new bool[written];
        long repeated = 0;
        foreach (var line in Encoding.ASCII.GetString(text).Replace("\0", string.Empty, StringComparison.Ordinal).Split('\n'))
        {
            if (line.Length == 10 && long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < written)
            {
                repeated += seen[n] ? 1 : 0;
                seen[n] = true;
            }
        }

        var lost = seen.LongCount(s => !s);
        return new LossResult(name, rotations, written, written / seconds, lost, repeated, nul, failures, firstFailure);
    }

    /// <summary>Cellar's archives in order, then the live file past what its state says is archived.</summary>
    private static byte[] CellarText(string archives, string log)
    {
        var text = new MemoryStream();
        if (Directory.Exists(archives))
        {
            foreach (var archive in Directory.EnumerateFiles(archives, "*.gz").OrderBy(p => Cellar.Core.Catalog.Sidecar.TryRead(p)?.Created))
            {
                using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(archive), System.IO.Compression.CompressionMode.Decompress);
                gzip.CopyTo(text);
            }
        }

        var live = File.ReadAllBytes(log);
        var archived = Directory.Exists(archives) ? (int)LogState.Read(archives, log).Archived : 0;
        text.Write(live.AsSpan(archived));
        return text.ToArray();
    }

    /// <summary>logrotate's rotated copies (backend.log.N, oldest first), then the live file.</summary>
    private static byte[] LogrotateText(string dir, string log)
    {
        var text = new MemoryStream();
        var rotated = Directory.EnumerateFiles(dir, "backend.log.*")
            .Select(p => (Path: p, N: int.TryParse(Path.GetExtension(p).AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1))
            .Where(r => r.N > 0)
            .OrderByDescending(r => r.N);
        foreach (var (path, _) in rotated)
        {
            text.Write(File.ReadAllBytes(path));
        }

        text.Write(File.ReadAllBytes(log));
        return text.ToArray();
    }

    private static string LogrotateConfig(string dir, string log)
    {
        var path = Path.Combine(dir, "logrotate.conf");
        File.WriteAllText(path, $"{log} {{\n    copytruncate\n    rotate 1000\n    missingok\n    notifempty\n    nocompress\n}}\n");
        return path;
    }

    private static async Task<string> CellarConfigAsync(string dir, string log, string archives)
    {
        var path = Path.Combine(dir, "cellar.json");
        var json = JsonSerializer.Serialize(new
        {
            database = Path.Combine(dir, "unused.sqlite"),
            backupRoot = dir,
            logDir = Path.Combine(dir, "cellar-logs"),
            timeZone = "UTC",
            jobs = new Dictionary<string, object>
            {
                ["logs"] = new { type = "rotate", schedule = "0 1 * * *", folder = archives, fileName = "backend-{yyyy}-{MM}-{dd}.log", keepDays = 7, keepAtLeast = 1000, path = log },
            },
        });
        await File.WriteAllTextAsync(path, json).ConfigureAwait(false);
        return path;
    }

    /// <summary>A ~<paramref name="logMiB"/> MiB request log: gzip -6 of it, against cellar run logs (collapse, verified).</summary>
    private async Task<SpeedResult> SpeedAsync(string workDir, int logMiB)
    {
        var dir = Directory.CreateDirectory(Path.Combine(workDir, "speed")).FullName;
        var master = Path.Combine(dir, "master.log");
        Bench.Log($"[logs] writing a {logMiB} MiB request log");
        while (!File.Exists(master) || new FileInfo(master).Length < logMiB * 1048576L)
        {
            await BackendLog.WriteAsync(master, 200_000, DateTimeOffset.UnixEpoch.AddSeconds(new FileInfo(master) is { Exists: true } f ? f.Length : 0), CancellationToken.None).ConfigureAwait(false);
        }

        var bytes = new FileInfo(master).Length;
        var gzip = await Bench.MeasureAsync("[logs] gzip -6 of the log", 1, async () =>
        {
            var outPath = Path.Combine(dir, "gzip.out");
            File.Delete(outPath);
            var run = await Proc.RunAsync("gzip", ["-6", "-c", master], stdoutPath: outPath).ConfigureAwait(false);
            Bench.Require(run, "gzip -6");
            return new Sample(run.Elapsed.TotalSeconds, new FileInfo(outPath).Length) { PeakRssBytes = run.PeakRssBytes };
        }).ConfigureAwait(false);
        var cellar = await Bench.MeasureAsync("[logs] cellar run logs (collapse, verified)", 1, async () =>
        {
            var log = Path.Combine(dir, "backend.log");
            File.Copy(master, log, overwrite: true);
            var archives = Path.Combine(dir, "archive");
            Bench.DeleteDirectory(archives);
            var config = await CellarConfigAsync(dir, log, archives).ConfigureAwait(false);
            var run = await Proc.RunAsync(Proc.DotnetHost(), [cellarDll, "--config", config, "run", "logs"]).ConfigureAwait(false);
            Bench.Require(run, "cellar run logs");
            return new Sample(run.Elapsed.TotalSeconds, new FileInfo(run.LastStdoutLine).Length) { PeakRssBytes = run.PeakRssBytes };
        }).ConfigureAwait(false);
        Directory.Delete(dir, recursive: true);
        return new SpeedResult(bytes, gzip, cellar);
    }
}

/// <summary>Lines accounted for after rotations under a writer.</summary>
internal sealed record LossResult(string Name, int Rotations, long Written, double LinesPerSecond, long Lost, long Repeated, long NulBytes, int Refused, string? FirstRefusal);

/// <summary>Rotating one large log against gzip -6 of it.</summary>
internal sealed record SpeedResult(long LogBytes, Measurement Gzip, Measurement Cellar);

/// <summary>The log-rotation comparison.</summary>
internal sealed record LogResult(LossResult CellarAppend, LossResult CellarNoAppend, LossResult LogrotateAppend, LossResult LogrotateNoAppend, IReadOnlyList<SpeedResult> Speeds);

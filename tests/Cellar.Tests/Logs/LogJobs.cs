using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// What the log rotation tests share: a config with one rotate job, and the text of every archive followed by the
/// unarchived rest of the live log. Those tests switch process-wide hooks (<see cref="CollapseProbe.Disabled"/>), so
/// they run one test at a time (<see cref="Collection"/>).
/// </summary>
internal static class LogJobs
{
    public const string Collection = "log rotation";

    /// <summary>Archives (oldest first) then the live file past its archived head: exactly lines 0..n-1.</summary>
    public static void AssertEveryLineOnce(JobConfig job, string log, long lines)
    {
        var all = ArchivedThenLive(job, log);
        Assert.DoesNotContain('\0', all);
        var numbers = all.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines, numbers.Length);
        for (var i = 0; i < numbers.Length; i++)
        {
            if (numbers[i] != i.ToString("D10", System.Globalization.CultureInfo.InvariantCulture))
            {
                Assert.Fail($"line {i} reads '{numbers[i]}'");
            }
        }
    }

    /// <summary>Every archive of the job (oldest first), then the live file past what its state says is archived.</summary>
    public static string ArchivedThenLive(JobConfig job, string log)
    {
        var text = new StringBuilder();
        foreach (var archive in Directory.EnumerateFiles(job.Folder, "*.gz").OrderBy(p => Sidecar.TryRead(p)!.Created))
        {
            text.Append(Gunzip(archive));
        }

        var live = File.ReadAllBytes(log);
        var archived = (int)LogState.Read(job.Folder, log).Archived;
        Assert.DoesNotContain((byte)0, live);
        return text.Append(Encoding.ASCII.GetString(live, archived, live.Length - archived)).ToString();
    }

    /// <summary>
    /// Runs <paramref name="cut"/> alone on <paramref name="path"/>, opened as the rotator hands a log to a cut once any
    /// crash is settled: with its stat, what its saved state says is archived (nothing, for a file with another inode)
    /// and its writers.
    /// </summary>
    public static async Task<LogOutcome> CutAsync(ILogCut cut, JobConfig job, string path, CancellationToken ct)
    {
        Directory.CreateDirectory(job.Folder);
        using var file = LogFile.Open(path, FileAccess.ReadWrite);
        var stat = LogFile.StatOf(file, path);
        var state = LogState.Read(job.Folder, path);
        var live = new LiveLog((RotateJob)job, path, file, stat, state.Inode == stat.Inode ? state : new LogState { Path = path, Inode = stat.Inode }, LogWriters.Find(path));
        return await cut.CutAsync(live, ct);
    }

    /// <summary>A new archiver, as the rotator makes one: archives named by the system clock, in UTC.</summary>
    /// <summary>
    /// Runs <paramref name="cut"/> alone on a log a real writer appends numbered lines to as fast as it can (for 200 ms
    /// before the cut and 50 ms after): the job, the log, what the cut did and how many lines were written in all.
    /// </summary>
    public static async Task<(JobConfig Job, string Log, LogOutcome Outcome, long Lines)> CutUnderWriterAsync(ILogCut cut, TempFolder temp, CancellationToken ct)
    {
        var log = temp.Combine("backend.log");
        var job = WriteConfig(temp, [log]).FindJob("logs");
        await using var writer = await LogWriterProcess.StartAsync(log, ct);
        await Task.Delay(200, ct);

        var outcome = await CutAsync(cut, job, log, ct);

        await Task.Delay(50, ct);
        var (lines, _) = await writer.StopAsync(ct);
        return (job, log, outcome, lines);
    }

    public static LogArchiver Archiver() => new(TimeProvider.System, TimeZoneInfo.Utc);

    /// <summary>Lines <paramref name="from"/> … <paramref name="from"/>+<paramref name="count"/>-1 as the test writer numbers them: ten digits and a line break.</summary>
    public static string Lines(long from, int count)
    {
        var text = new StringBuilder();
        for (var n = from; n < from + count; n++)
        {
            text.Append(n.ToString("D10", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    public static string Gunzip(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.ASCII);
        return reader.ReadToEnd();
    }

    /// <summary>A config whose one job, <c>logs</c>, rotates <paramref name="paths"/> into <c>backups/logs-archive</c>.</summary>
    public static CellarConfig WriteConfig(TempFolder temp, string[] paths, string? pidFile = null, bool tagged = false, int keepAtLeast = 1000, string? reopenUrl = null, long? maxBytes = null)
    {
        var job = new JsonObject
        {
            ["type"] = "rotate",
            ["folder"] = "logs-archive",
            ["fileName"] = tagged ? "{tag}-{yyyy}-{MM}-{dd}.log" : "backend-{yyyy}-{MM}-{dd}.log",
            ["keepDays"] = 7,
            ["keepAtLeast"] = keepAtLeast,
            ["paths"] = new JsonArray([.. paths.Select(p => (JsonNode)p)]),
        };
        if (pidFile is not null)
        {
            job["pidFile"] = pidFile;
        }

        if (reopenUrl is not null)
        {
            job["reopenUrl"] = reopenUrl;
        }

        if (maxBytes is not null)
        {
            job["maxBytes"] = maxBytes;
        }

        var settings = new JsonObject
        {
            ["database"] = temp.Combine("app.db"),
            ["backupRoot"] = temp.Combine("backups"),
            ["logDir"] = temp.Combine("cellar-logs"),
            ["timeZone"] = "UTC",
            ["jobs"] = new JsonObject { ["logs"] = job },
        };
        var path = temp.Combine("cellar.json");
        File.WriteAllText(path, settings.ToJsonString());
        return ConfigLoader.Load(path);
    }
}

/// <summary>The rotation test classes, which must not run at the same time as each other.</summary>
[CollectionDefinition(LogJobs.Collection)]
public sealed class LogRotationGroup;


using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Logs;

/// <summary>
/// Rotates live logs without losing a line. For each log: settle what a crash left (<see cref="LogRecovery"/>),
/// archive a renamed or copied file left beside it, then pick the cut that suits the log and its filesystem, which
/// archives the complete lines not yet archived (<see cref="LogArchiver"/>: the same compress, fsync, verify,
/// sidecar, rename path as backups) and empties the live file of them:
/// <list type="bullet">
/// <item><see cref="CollapseCut"/> (ext4, XFS): cuts the archived head off in place while the app keeps appending;</item>
/// <item><see cref="SignalCut"/>: renames, creates a fresh file, makes the app reopen it (<see cref="AppNotifier"/>);</item>
/// <item><see cref="CopyTruncateCut"/>: copies, fsyncs, truncates at once, losing the lines of that window as logrotate does.</item>
/// </list>
/// </summary>
public sealed partial class LogRotator
{
    private readonly ILogger<LogRotator> _logger;
    private readonly LogArchiver _archiver;
    private readonly CollapseCut _collapse;
    private readonly SignalCut _signal;
    private readonly CopyTruncateCut _copyTruncate;

    /// <summary>A rotator naming its archives by <paramref name="time"/> in <paramref name="zone"/>.</summary>
    public LogRotator(TimeProvider time, TimeZoneInfo zone, ILogger<LogRotator> logger)
    {
        _logger = logger;
        _archiver = new LogArchiver(time, zone);
        _collapse = new CollapseCut(_archiver);
        _signal = new SignalCut(_archiver);
        _copyTruncate = new CopyTruncateCut(_archiver);
    }

    /// <summary>Rotates every log of <paramref name="job"/>; throws <see cref="CellarException"/> on the first that cannot be.</summary>
    public async Task<IReadOnlyList<LogOutcome>> RotateAsync(RotateJob job, CancellationToken cancellationToken)
    {
        SecureFiles.EnsureFolder(job.Folder);
        var outcomes = new List<LogOutcome>();
        foreach (var path in LogsOf(job))
        {
            foreach (var outcome in await RotateOneAsync(job, path, cancellationToken).ConfigureAwait(false))
            {
                Log(outcome);
                outcomes.Add(outcome);
            }
        }

        return outcomes;
    }

    /// <summary>The live logs a job names: its paths, with a glob in the file name expanded (Cellar's own files left out).</summary>
    internal static IEnumerable<string> LogsOf(RotateJob job)
    {
        foreach (var configured in job.Paths)
        {
            var pattern = Path.GetFileName(configured);
            if (pattern.AsSpan().IndexOfAny('*', '?') < 0)
            {
                yield return configured;
                continue;
            }

            var folder = Path.GetDirectoryName(configured)!;
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(folder, pattern).Order(StringComparer.Ordinal))
            {
                if (!LogFile.IsRotatedPath(file) && !TempFile.IsTempName(Path.GetFileName(file)))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>
    /// True when a log of <paramref name="job"/> holds more than its <c>maxBytes</c> not yet archived: the daemon's
    /// cheap check (a stat per log) for rotating early, before a huge night fills the disk.
    /// </summary>
    public static bool IsOverMaxBytes(RotateJob job) =>
        job.MaxBytes is { } max && LogsOf(job).Any(path =>
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length - LogState.Read(job.Folder, path).Archived > max;
        });

    private async Task<List<LogOutcome>> RotateOneAsync(RotateJob job, string path, CancellationToken cancellationToken)
    {
        var outcomes = new List<LogOutcome>();
        if (new FileInfo(path).LinkTarget is { } link)
        {
            // Rotating cuts and truncates files: as root, through a link the app's user controls, it could be any file.
            throw new CellarException($"{path} is a symbolic link (to {link}); name the log file itself in the job");
        }

        var state = LogRecovery.Settle(job, path);

        // A rename (signal) or copy (copytruncate) whose archive a crash or a slow app prevented: its lines come first.
        if (File.Exists(LogFile.RotatedPath(path)))
        {
            outcomes.Add(await _archiver.ArchiveRotatedAsync(job, path, method: null, cancellationToken).ConfigureAwait(false));
        }

        if (!File.Exists(path))
        {
            if (outcomes.Count == 0)
            {
                outcomes.Add(new LogOutcome(path, LogStatus.Missing));
            }

            return outcomes;
        }

        using var live = LogFile.Open(path, FileAccess.ReadWrite);
        var stat = LogFile.StatOf(live, path);
        if (state.Inode != stat.Inode)
        {
            state = new LogState { Path = path, Inode = stat.Inode };
        }

        state = LogRecovery.SettleCollapse(state, live.SafeFileHandle);
        string? warning = null;
        if (state.HeadReplaced(live.SafeFileHandle))
        {
            warning = LogState.HeadReplacedWarning(path, state.Archived);
            state = state.NothingArchived();
        }

        var size = live.Length;

        if (size == state.Archived)
        {
            state.Save(job.Folder);
            outcomes.Add(new LogOutcome(path, LogStatus.Empty, Warning: warning));
            return outcomes;
        }

        var writers = LogWriters.Find(path);
        var cut = ChooseCut(job, path, state, stat.BlockSize, writers.FirstOrDefault(w => !w.Appends));
        var outcome = await cut.CutAsync(new LiveLog(job, path, live, stat, state, writers), cancellationToken).ConfigureAwait(false);
        outcomes.Add(outcome with { Warning = LogOutcome.JoinWarnings(warning, outcome.Warning) });
        return outcomes;
    }

    private ILogCut ChooseCut(RotateJob job, string path, LogState state, long blockSize, LogWriter? careless)
    {
        var canSignal = job.Fallbacks.Contains(RotationMethod.Signal) && (job.PidFile is not null || job.ReopenUrl is not null);
        if (careless is not null)
        {
            return canSignal ? _signal : throw new CellarException(
                $"{path} is written by pid {careless.Pid} ({careless.Name}) without O_APPEND: cutting or truncating it would leave a NUL-filled hole as large as the file; "
                + "open the log with O_APPEND (Node: flags: 'a'), or set pidFile or reopenUrl so Cellar can make the app reopen it");
        }

        if (!state.CollapseUnsupported && CollapseProbe.Works(Path.GetDirectoryName(path)!, blockSize))
        {
            return _collapse;
        }

        if (canSignal)
        {
            return _signal;
        }

        return job.Fallbacks.Contains(RotationMethod.CopyTruncate) ? _copyTruncate : throw new CellarException(
            $"the filesystem of {path} cannot cut a file's head (tmpfs or overlay?) and no fallback is usable: set pidFile or reopenUrl for 'signal', or allow 'copytruncate' in fallbacks");
    }

    private void Log(LogOutcome outcome)
    {
        var method = outcome.Method?.ToString().ToLowerInvariant() ?? "-";
        var status = outcome.Status.ToString().ToLowerInvariant();
        LogRotated(_logger, outcome.LogPath, status, method, outcome.Archive ?? "-", outcome.Bytes);
        if (outcome.Warning is { } warning)
        {
            LogWarning(_logger, outcome.LogPath, warning);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "log {Path}: {Status} by {Method} into {Archive} ({Bytes} bytes)")]
    private static partial void LogRotated(ILogger logger, string path, string status, string method, string archive, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "log {Path}: {Warning}")]
    private static partial void LogWarning(ILogger logger, string path, string warning);
}

using System.Text;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Core.Retention;
using Microsoft.Extensions.Logging;

namespace Cellar.Logging;

/// <summary>
/// Cellar's own log files, as the seed had them: backup jobs in <c>backup.log</c>, pruning and other upkeep
/// in <c>maintenance.log</c>. Each event is one line appended with <c>O_APPEND</c> in a single write, so the
/// daemon and a CLI invocation can log to the same file at once without interleaving inside a line.
/// A missing log folder is created (with its parents); one that cannot be created or written is reported once, in
/// one line, to <paramref name="unavailable"/> (stderr for the CLI, a warning log in the daemon), because a prune
/// that deletes backups must not go unrecorded in silence. Logging still never fails a job. The files roll by size
/// and day, with retention (<see cref="RollingLogFile"/>).
/// </summary>
internal sealed class FileLoggerProvider(string logDir, TimeProvider time, Action<string> unavailable) : ILoggerProvider
{
    /// <summary>
    /// The mode of a log folder Cellar creates: <c>logDir</c> is often shared with the app's own log (the seed's
    /// <c>/app/logs</c> holds <c>backend.log</c>) and Cellar's files in it are owner-only anyway, so the folder is made
    /// like <c>mkdir -p</c> would, not owner-only like a backup folder.
    /// </summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private readonly Dictionary<string, RollingLogFile> _files = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private bool _reported;

    /// <summary>
    /// Cellar's own events at information and above; the host's (ASP.NET's start-up chatter) only when they are
    /// warnings or errors: these files are the record of backups and upkeep, not of the web server.
    /// </summary>
    public ILogger CreateLogger(string categoryName) =>
        new FileLogger(this, FileFor(categoryName), categoryName.StartsWith("Cellar", StringComparison.Ordinal) ? LogLevel.Information : LogLevel.Warning);

    public void Dispose()
    {
        lock (_writeLock)
        {
            foreach (var file in _files.Values)
            {
                file.Dispose();
            }
        }
    }

    /// <summary>
    /// The categories whose lines are upkeep: retention and log rotation, named by their code's namespace (so a move of
    /// that code moves its routing with it, or fails to compile), and the CLI's and daemon's own upkeep loggers.
    /// </summary>
    private static readonly string[] MaintenanceCategories = [typeof(Pruner).Namespace + ".", typeof(LogRotator).Namespace + ".", MaintenanceCategory];

    /// <summary>The category of upkeep a host logs itself (<c>cellar verify</c>, the daemon's verify sweep, <c>cellar prune</c>'s lock).</summary>
    public const string MaintenanceCategory = "Cellar.Maintenance";

    private static string FileFor(string category) =>
        MaintenanceCategories.Any(prefix => category.StartsWith(prefix, StringComparison.Ordinal)) ? "maintenance.log" : "backup.log";

    private void Write(string file, LogLevel level, string message, Exception? exception)
    {
        var line = new StringBuilder()
            .Append(time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture))
            .Append(' ').Append(LevelName(level)).Append(' ')
            .Append(message.ReplaceLineEndings(" "));
        if (exception is not null)
        {
            line.Append(" | ").Append(exception.GetType().Name).Append(": ").Append(exception.Message.ReplaceLineEndings(" "));
        }

        var bytes = Encoding.UTF8.GetBytes(line.Append('\n').ToString());
        string? problem = null;
        string? warning = null;
        lock (_writeLock)
        {
            try
            {
                if (!_files.TryGetValue(file, out var target))
                {
                    // Until the folder can be made, every line tries again: a mount that comes up late still gets the rest.
                    CreateFolder();
                    SecureFiles.WarnIfOthersCanWrite(logDir, w => warning = $"warning: {w}");
                    target = _files[file] = new RollingLogFile(Path.Combine(logDir, file), time);
                }

                target.Append(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk or a read-only folder must not turn a successful backup into a failure because its
                // log line did not fit; it is said once, outside the lock, since the daemon's report is itself a log line.
                if (!_reported)
                {
                    _reported = true;
                    problem = $"cannot write Cellar's log {Path.Combine(logDir, file)}: {e.Message.ReplaceLineEndings(" ")}; its entries are not recorded";
                }
            }
        }

        foreach (var notice in new[] { warning, problem }.OfType<string>())
        {
            unavailable(notice);
        }
    }

    private void CreateFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(logDir);
        }
        else
        {
            Directory.CreateDirectory(logDir, FolderMode);
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info ",
        LogLevel.Warning => "warn ",
        LogLevel.Error => "error",
        _ => "crit ",
    };

    private sealed class FileLogger(FileLoggerProvider provider, string file, LogLevel threshold) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= threshold;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(file, logLevel, formatter(state, exception), exception);
            }
        }
    }
}

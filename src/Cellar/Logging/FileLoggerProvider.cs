using System.Text;
using Microsoft.Extensions.Logging;

namespace Cellar.Logging;

/// <summary>
/// Cellar's own log files, as the seed had them: backup jobs in <c>backup.log</c>, pruning and other upkeep
/// in <c>maintenance.log</c>. Each event is one line appended with <c>O_APPEND</c> in a single write, so the
/// daemon and a CLI invocation can log to the same file at once without interleaving inside a line.
/// Logging never fails a job: a missing or read-only log folder just turns file logging off. The files roll by
/// size and day, with retention (<see cref="RollingLogFile"/>).
/// </summary>
internal sealed class FileLoggerProvider(string logDir, TimeProvider time) : ILoggerProvider
{
    private readonly Dictionary<string, RollingLogFile?> _files = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, FileFor(categoryName));

    public void Dispose()
    {
        lock (_writeLock)
        {
            foreach (var file in _files.Values)
            {
                file?.Dispose();
            }
        }
    }

    private static string FileFor(string category) =>
        category.Contains("Retention", StringComparison.Ordinal) || category.Contains("Maintenance", StringComparison.Ordinal) || category.Contains(".Logs.", StringComparison.Ordinal)
            ? "maintenance.log" : "backup.log";

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
        lock (_writeLock)
        {
            if (!_files.TryGetValue(file, out var target))
            {
                target = _files[file] = Open(file);
            }

            try
            {
                target?.Append(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk or a read-only folder must not turn a successful backup into a failure because its
                // log line did not fit.
            }
        }
    }

    private RollingLogFile? Open(string file) => Directory.Exists(logDir) ? new RollingLogFile(Path.Combine(logDir, file), time) : null;

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info ",
        LogLevel.Warning => "warn ",
        LogLevel.Error => "error",
        _ => "crit ",
    };

    private sealed class FileLogger(FileLoggerProvider provider, string file) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(file, logLevel, formatter(state, exception), exception);
            }
        }
    }
}

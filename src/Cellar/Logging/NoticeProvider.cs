using Cellar.Core.IO;
using Microsoft.Extensions.Logging;

namespace Cellar.Logging;

/// <summary>
/// Puts on stderr, one line each, the two core events a person at the terminal must see: <see cref="Waiting"/>
/// notices ("waiting for another Cellar run to finish in ..."), so a command stuck behind the daemon or a writer
/// never hangs in silence, and the warning that root works in a folder another user can write. Every other event
/// goes only to Cellar's log files (or, with --verbose, to the console logger).
/// </summary>
internal sealed class NoticeProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => NoticeLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class NoticeLogger : ILogger
    {
        public static readonly NoticeLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var prefix = eventId.Name switch
            {
                Waiting.EventName => "cellar: ",
                SecureFiles.OthersCanWriteEventName => "cellar: warning: ",
                _ => null,
            };
            if (prefix is not null)
            {
                Console.Error.WriteLine(prefix + formatter(state, exception));
            }
        }
    }
}

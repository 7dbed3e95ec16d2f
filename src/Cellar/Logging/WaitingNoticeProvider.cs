using Cellar.Core.IO;
using Microsoft.Extensions.Logging;

namespace Cellar.Logging;

/// <summary>
/// Puts the core's <see cref="Waiting"/> notices ("waiting for another Cellar run to finish in ...") on stderr as
/// one line each, so a command stuck behind the daemon or a writer says what it waits for instead of hanging in
/// silence. Every other event goes only to Cellar's log files (or, with --verbose, to the console logger).
/// </summary>
internal sealed class WaitingNoticeProvider : ILoggerProvider
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
            if (eventId.Name == Waiting.EventName)
            {
                Console.Error.WriteLine($"cellar: {formatter(state, exception)}");
            }
        }
    }
}

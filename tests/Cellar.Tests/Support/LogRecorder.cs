using Microsoft.Extensions.Logging;

namespace Cellar.Tests.Support;

/// <summary>A logger provider that keeps every entry in the order it was written, so a test can read what the operator's log says, and when.</summary>
internal sealed class LogRecorder : ILoggerProvider
{
    private readonly List<(string Category, string Message)> _entries = [];

    public IReadOnlyList<(string Category, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Recording(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recording(LogRecorder recorder, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (recorder._entries)
            {
                recorder._entries.Add((category, formatter(state, exception)));
            }
        }
    }
}

using Cellar.Core.Configuration;
using Cellar.Core.Status;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// The readiness problems of <c>/readyz</c>, each logged with its paths once each time the answer changes: a probe
/// every few seconds must not fill the log with the same line, and the answer itself names no path.
/// </summary>
internal sealed partial class ReadinessLog(ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Cellar.Daemon.Readiness");
    private ReadinessProblem[] _lastLogged = [];

    /// <summary>Checks readiness now; logs each problem that the previous check did not have.</summary>
    public IReadOnlyList<ReadinessProblem> Checked(CellarConfig config)
    {
        var problems = Readiness.Problems(config);
        var previous = Interlocked.Exchange(ref _lastLogged, [.. problems]);
        foreach (var problem in problems.Except(previous))
        {
            LogNotReady(_logger, problem.Detail);
        }

        return problems;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "not ready: {Problem}")]
    private static partial void LogNotReady(ILogger logger, string problem);
}

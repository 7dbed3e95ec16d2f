using Cellar.Core.Configuration;
using Cellar.Core.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// <c>GET /healthz</c> (the process answers) and <c>GET /readyz</c> (databases readable, backup folders writable); no
/// token. A problem names the database or job, never a path: whoever can reach the port reads it. The paths go to the
/// daemon's log, once each time the answer changes.
/// </summary>
internal static partial class HealthEndpoints
{
    public static void Map(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cellar.Daemon.Readiness");
        ReadinessProblem[] lastLogged = [];
        app.MapGet("/healthz", () => Results.Ok(new HealthAnswer(true, [])));
        app.MapGet("/readyz", (CellarConfig config) =>
        {
            var problems = Readiness.Problems(config);
            var previous = Interlocked.Exchange(ref lastLogged, [.. problems]);
            foreach (var problem in problems.Except(previous))
            {
                LogNotReady(logger, problem.Detail);
            }

            return problems.Count == 0
                ? Results.Ok(new HealthAnswer(true, []))
                : Results.Json(new HealthAnswer(false, problems.Select(p => p.Summary).ToList()), DaemonJson.Default.HealthAnswer, statusCode: 503);
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "not ready: {Problem}")]
    private static partial void LogNotReady(ILogger logger, string problem);
}

/// <summary>The body of /healthz and /readyz.</summary>
internal sealed record HealthAnswer(bool Ok, IReadOnlyList<string> Problems);

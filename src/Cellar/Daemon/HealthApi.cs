using Cellar.Core.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Daemon;

/// <summary>
/// <c>GET /healthz</c> (the process answers) and <c>GET /readyz</c> (databases readable, backup folders writable); no
/// token. A problem names the database or job, never a path: whoever can reach the port reads it. The paths go to the
/// daemon's log (<see cref="ReadinessLog"/>).
/// </summary>
internal static class HealthApi
{
    public static void MapHealthApi(this IEndpointRouteBuilder routes)
    {
        var health = routes.MapGroup(string.Empty).WithTags("health");
        health.MapGet("/healthz", Live);
        health.MapGet("/readyz", Ready);
    }

    /// <summary>The process answers.</summary>
    public static Ok<HealthAnswer> Live() => TypedResults.Ok(new HealthAnswer(true, []));

    /// <summary>Every database is readable and every backup folder writable.</summary>
    /// <response code="503">Not ready: the problems name the database or job, never a path.</response>
    public static Results<Ok<HealthAnswer>, Json<HealthAnswer, Status503ServiceUnavailable>> Ready(CellarConfig config, ReadinessLog log)
    {
        var problems = log.Checked(config);
        return problems.Count == 0
            ? TypedResults.Ok(new HealthAnswer(true, []))
            : new Json<HealthAnswer, Status503ServiceUnavailable>(new HealthAnswer(false, problems.Select(p => p.Summary).ToList()), DaemonJson.Default.HealthAnswer);
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Daemon;

/// <summary>
/// Routes that require a <see cref="BearerToken"/>. The refusal comes from a filter, before the handler, so its
/// typed result cannot list it: each requirement declares its answers on the routes it guards.
/// </summary>
internal static class BearerTokenFilter
{
    /// <summary>The admin API: 401 without its token, 503 for every request while no token is configured.</summary>
    public static RouteGroupBuilder RequireAdminToken(this RouteGroupBuilder group, BearerToken token) =>
        group
            .AddEndpointFilter(async (context, next) =>
            {
                if (!token.Configured)
                {
                    return Results.Problem("the admin API is off: set apiTokenFile in the config or CELLAR_API_TOKEN in the environment", statusCode: StatusCodes.Status503ServiceUnavailable, title: "no token configured");
                }

                return token.Accepts(context.HttpContext.Request.Headers.Authorization)
                    ? await next(context).ConfigureAwait(false)
                    : Unauthorized(context.HttpContext, "a valid bearer token is required");
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary><c>/metrics</c> with <c>metricsTokenFile</c> set: 401 without that token or the admin token.</summary>
    public static RouteHandlerBuilder RequireMetricsToken(this RouteHandlerBuilder route, BearerToken metricsToken, BearerToken adminToken) =>
        route
            .AddEndpointFilter(async (context, next) =>
            {
                var authorization = context.HttpContext.Request.Headers.Authorization.ToString();
                return metricsToken.Accepts(authorization) || adminToken.Accepts(authorization)
                    ? await next(context).ConfigureAwait(false)
                    : Unauthorized(context.HttpContext, "a valid bearer token is required (metricsTokenFile)");
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized);

    private static IResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "unauthorized");
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// <c>GET /metrics</c> in Prometheus text format. Open by default, like most exporters (it holds job names, sizes and
/// timings, no paths); with <c>metricsTokenFile</c> set it requires that token (or the admin token) as a bearer token,
/// which Prometheus sends with <c>authorization: { credentials_file: ... }</c>.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static void Map(WebApplication app, BearerToken metricsToken, BearerToken adminToken)
    {
        if (metricsToken.Configured)
        {
            app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), branch => branch.Use(async (context, next) =>
            {
                var authorization = context.Request.Headers.Authorization.ToString();
                if (metricsToken.Accepts(authorization) || adminToken.Accepts(authorization))
                {
                    await next(context).ConfigureAwait(false);
                    return;
                }

                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Results.Problem("a valid bearer token is required (metricsTokenFile)", statusCode: StatusCodes.Status401Unauthorized, title: "unauthorized")
                    .ExecuteAsync(context).ConfigureAwait(false);
            }));
        }

        app.MapMetrics(Path);
    }
}

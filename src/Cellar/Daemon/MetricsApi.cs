using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Daemon;

/// <summary>
/// <c>GET /metrics</c> in Prometheus text format. Open by default, like most exporters (it holds job names, sizes and
/// timings, no paths); with <c>metricsTokenFile</c> set it requires that token (or the admin token) as a bearer token,
/// which Prometheus sends with <c>authorization: { credentials_file: ... }</c>.
/// </summary>
internal static class MetricsApi
{
    public static void MapMetricsApi(this IEndpointRouteBuilder routes, BearerToken metricsToken, BearerToken adminToken)
    {
        var route = routes.MapGet("/metrics", Scrape).WithTags("metrics");
        if (metricsToken.Configured)
        {
            route.RequireMetricsToken(metricsToken, adminToken);
        }
    }

    /// <summary>Runs, sizes and durations per job, failed checks, free disk space and offsite lag, for Prometheus.</summary>
    /// <response code="200">Prometheus text, or OpenMetrics when the Accept header asks for it.</response>
    public static MetricsText Scrape() => MetricsText.Instance;
}

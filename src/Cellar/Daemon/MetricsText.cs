using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Prometheus;

namespace Cellar.Daemon;

/// <summary>
/// The answer of <c>GET /metrics</c>: prometheus-net's exporter, the one <c>MapMetrics</c> would put on the route
/// (Prometheus text, or OpenMetrics when the scraper asks for it), as a typed result, so that the OpenAPI document
/// lists the route and its answer too.
/// </summary>
internal sealed class MetricsText : IResult, IEndpointMetadataProvider
{
    // The exporter answers every request itself; it never calls the next step.
    private static readonly MetricServerMiddleware Exporter = new(_ => Task.CompletedTask, new MetricServerMiddleware.Settings());

    private MetricsText()
    {
    }

    public static MetricsText Instance { get; } = new();

    public Task ExecuteAsync(HttpContext httpContext) => Exporter.Invoke(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/plain", "application/openmetrics-text"]));
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// <c>/openapi/v1.json</c>, fetched from the daemon on 127.0.0.1, against the routes the app maps: every route is in
/// it with every answer it can give, those of its handler and those of the filters in front of it (host name, token,
/// body size), and no other.
/// </summary>
public sealed partial class OpenApiDocumentTests
{
    private const string Token = "0123456789abcdef-test-token";

    private static readonly int[] Trigger = [200, 202, 400, 401, 404, 429, 500, 503];

    // What each route can answer, with a metrics token configured and the host filter on (the default).
    private static readonly Dictionary<string, int[]> Answers = new()
    {
        ["GET /healthz"] = [200, 400],
        ["GET /readyz"] = [200, 400, 503],
        ["GET /metrics"] = [200, 400, 401],
        ["POST /api/admin/backup-on-gallery-add"] = [.. Trigger, 413],
        ["POST /api/admin/trigger-backup"] = Trigger,
        ["POST /api/admin/jobs/{job}"] = Trigger,
        ["POST /api/admin/jobs/{job}/verify"] = [200, 400, 401, 404, 429, 503],
        ["GET /api/admin/jobs/{job}/offsite-lag"] = [200, 400, 401, 404, 503],
        ["GET /api/admin/runs/{id}"] = [200, 400, 401, 404, 503],
        ["GET /api/admin/backups"] = [200, 400, 401, 404, 503],
        ["GET /api/admin/backup-status"] = [200, 400, 401, 503],
        ["GET /"] = [200, 400],
        ["GET /dashboard/{file}"] = [200, 400, 404],
    };

    [Fact]
    public async Task The_OpenAPI_document_lists_every_answer_of_every_route()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config =>
        {
            var tokenFile = Path.Combine(Path.GetDirectoryName(config["database"]!.GetValue<string>())!, "metrics-token");
            File.WriteAllText(tokenFile, "prometheus-scrape-token-0123456789");
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            config["metricsTokenFile"] = tokenFile;
        });

        var documented = await DocumentedAnswersAsync(api);

        Assert.Equal(Answers.Keys.Order(StringComparer.Ordinal), MappedRoutes(api).Order(StringComparer.Ordinal));
        Assert.Equal(Answers.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        Assert.All(Answers, route => Assert.True(
            route.Value.Order().SequenceEqual(documented[route.Key].Order()),
            $"{route.Key}: documented {string.Join(", ", documented[route.Key].Order())}, answers {string.Join(", ", route.Value.Order())}"));
    }

    [Fact]
    public async Task The_OpenAPI_document_leaves_out_answers_the_configuration_rules_out()
    {
        // Any host name is allowed and /metrics is open: neither 400 from the host filter nor 401 from /metrics.
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config => config["allowedHosts"] = new JsonArray("*"));

        var documented = await DocumentedAnswersAsync(api);

        Assert.Equal([200], documented["GET /healthz"]);
        Assert.Equal([200], documented["GET /metrics"]);
        Assert.Equal([200, 401, 503], documented["GET /api/admin/backup-status"].Order());
    }

    /// <summary>
    /// "METHOD /path" of each route the app maps for the document ("ANY" for a route of every method, which the
    /// document cannot list); the document's own route is the one left out.
    /// </summary>
    private static List<string> MappedRoutes(InProcessDaemon api)
    {
        var routes = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["ANY"]).Select(method => (
                Route: $"{method} {Constraint().Replace(e.RoutePattern.RawText!, "{$1}")}",
                Described: e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })))
            .ToList();
        Assert.Equal(["GET /openapi/{documentName}.json"], routes.Where(r => !r.Described).Select(r => r.Route));
        return routes.Where(r => r.Described).Select(r => r.Route).ToList();
    }

    private static async Task<Dictionary<string, int[]>> DocumentedAnswersAsync(InProcessDaemon api)
    {
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), api.Ct))!;
        return document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(operation => (
                Route: $"{operation.Key.ToUpperInvariant()} {path.Key}",
                Answers: operation.Value!["responses"]!.AsObject().Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture)).ToArray())))
            .ToDictionary(o => o.Route, o => o.Answers);
    }

    // A route constraint ("{id:guid}") the document leaves out of the path ("{id}").
    [GeneratedRegex(@"\{(\w+):[^}]*\}")]
    private static partial Regex Constraint();
}

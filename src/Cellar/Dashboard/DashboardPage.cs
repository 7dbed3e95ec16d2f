using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Dashboard;

/// <summary>
/// The dashboard at <c>/</c>: a page shell and its scripts and styles, embedded in the binary. The shell holds no data
/// and needs no token; the page asks for the token and reads everything through the admin API with it. A strict
/// Content-Security-Policy allows only these files (no inline script, no other origin), and every URL the page uses is
/// relative, so it works under a reverse proxy's path prefix.
/// </summary>
internal static class DashboardPage
{
    private const string Policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["app.js"] = "text/javascript; charset=utf-8",
        ["app.css"] = "text/css; charset=utf-8",
        ["uPlot.iife.min.js"] = "text/javascript; charset=utf-8",
        ["uPlot.min.css"] = "text/css; charset=utf-8",
    };

    public static void MapDashboard(this IEndpointRouteBuilder routes)
    {
        var dashboard = routes.MapGroup(string.Empty).WithTags("dashboard");
        dashboard.MapGet("/", Page).Produces(StatusCodes.Status200OK, contentType: "text/html");
        dashboard.MapGet("/dashboard/{file}", Asset)
            .Produces(StatusCodes.Status200OK, contentType: "text/javascript", additionalContentTypes: "text/css")
            .Produces(StatusCodes.Status404NotFound);
    }

    /// <summary>The dashboard's page: a shell without data, which asks for the admin token and reads the admin API.</summary>
    public static IResult Page() => Asset("index.html");

    /// <summary>One of the dashboard's scripts or styles (404 for any other name).</summary>
    public static IResult Asset([System.ComponentModel.Description("the file's name")] string file)
    {
        if (!Types.TryGetValue(file, out var type) || typeof(DashboardPage).Assembly.GetManifestResourceStream("dashboard/" + file) is not { } content)
        {
            return Results.NotFound();
        }

        return new WithHeaders(Results.Stream(content, type));
    }

    /// <summary>The policy, and no framing, sniffing or referrer, on each of the dashboard's answers.</summary>
    private sealed class WithHeaders(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var headers = httpContext.Response.Headers;
            headers.ContentSecurityPolicy = Policy;
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return inner.ExecuteAsync(httpContext);
        }
    }
}

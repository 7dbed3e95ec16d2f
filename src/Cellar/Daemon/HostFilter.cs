using System.Net;
using Cellar.Core.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Daemon;

/// <summary>
/// Answers only requests addressed to this daemon by a name it knows, against DNS rebinding: a web page on
/// <c>attacker.example</c> that makes its name resolve to 127.0.0.1 can have a browser on this machine call the
/// daemon, but the browser still sends <c>Host: attacker.example</c>, and no token. Accepted: <c>localhost</c>, any
/// IP address (a browser never looks those up in DNS, so they cannot be rebound), the <c>listen</c> host,
/// <c>allowedHosts</c>, and any request carrying a valid bearer token (the app calling <c>http://cellar:8787</c> from
/// its container): the token is what such a page cannot send. Everything else gets 400 before any route runs, and
/// the OpenAPI document lists that answer on each route mapped on <c>routes</c>.
/// </summary>
internal static class HostFilter
{
    public static void Use(WebApplication app, RouteGroupBuilder routes, CellarConfig config, params BearerToken[] tokens)
    {
        var names = new HashSet<string>(config.AllowedHosts.Append("localhost").Append(config.Listen.IdnHost), StringComparer.OrdinalIgnoreCase);
        if (names.Contains("*"))
        {
            return;
        }

        routes.ProducesProblem(StatusCodes.Status400BadRequest);

        app.Use(async (context, next) =>
        {
            var host = context.Request.Host;
            // HTTP/1.0 without a Host header: no browser sends that, and Kestrel refuses it for HTTP/1.1.
            if (!host.HasValue || IPAddress.TryParse(host.Host.Trim('[', ']'), out _) || names.Contains(host.Host)
                || tokens.Any(t => t.Accepts(context.Request.Headers.Authorization)))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            await Results.Problem(
                $"this daemon does not answer to the host name '{host.Host}' without a token; add the name to allowedHosts in the config if it is yours",
                statusCode: StatusCodes.Status400BadRequest,
                title: "host not allowed").ExecuteAsync(context).ConfigureAwait(false);
        });
    }
}

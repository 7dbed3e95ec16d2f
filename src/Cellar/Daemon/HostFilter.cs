using System.Net;
using Cellar.Core.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary>
/// Answers only requests addressed to this daemon by a name it knows, against DNS rebinding: a web page on
/// <c>attacker.example</c> that makes its name resolve to 127.0.0.1 can have a browser on this machine call the
/// daemon, but the browser still sends <c>Host: attacker.example</c>. Accepted: <c>localhost</c>, any IP address (a
/// browser never looks those up in DNS, so they cannot be rebound), the <c>listen</c> host and <c>allowedHosts</c>.
/// Everything else gets 400 before any route runs.
/// </summary>
internal static class HostFilter
{
    public static void Use(WebApplication app, CellarConfig config)
    {
        var names = new HashSet<string>(config.AllowedHosts.Append("localhost").Append(config.Listen.IdnHost), StringComparer.OrdinalIgnoreCase);
        if (names.Contains("*"))
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            var host = context.Request.Host;
            // HTTP/1.0 without a Host header: no browser sends that, and Kestrel refuses it for HTTP/1.1.
            if (!host.HasValue || IPAddress.TryParse(host.Host.Trim('[', ']'), out _) || names.Contains(host.Host))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            await Results.Problem(
                $"this daemon does not answer to the host name '{host.Host}'; add it to allowedHosts in the config if it is yours",
                statusCode: StatusCodes.Status400BadRequest,
                title: "host not allowed").ExecuteAsync(context).ConfigureAwait(false);
        });
    }
}

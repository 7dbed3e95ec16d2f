using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// What the daemon shows whoever can reach its port, on a real Kestrel on 127.0.0.1: it answers only requests
/// addressed to it by a name it knows, against DNS rebinding.
/// </summary>
public sealed class DaemonSurfaceTests
{
    private const string Token = "0123456789abcdef-test-token";

    private static readonly string[] OpenRoutes = ["/healthz", "/readyz", "/metrics", "/openapi/v1.json"];

    [Fact]
    public async Task A_request_for_a_host_name_the_daemon_does_not_know_gets_400_on_every_route()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);

        foreach (var route in OpenRoutes.Append("/api/admin/backup-status"))
        {
            // What a browser sends after a page on attacker.example made its name resolve to 127.0.0.1.
            using var rebound = await SendAsync(client, route, $"attacker.example:{api.Address.Port}", api.Ct);

            Assert.True(rebound.StatusCode == HttpStatusCode.BadRequest, $"{route}: {rebound.StatusCode}");
            Assert.DoesNotContain("cellar_", await rebound.Content.ReadAsStringAsync(api.Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Loopback_names_IP_addresses_and_allowedHosts_are_answered()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config => config["allowedHosts"] = new JsonArray("backup.internal"));
        using var client = api.Client(Token);
        var port = api.Address.Port;

        foreach (var host in new[] { $"localhost:{port}", $"127.0.0.1:{port}", $"[::1]:{port}", $"10.1.2.3:{port}", "backup.internal", $"BACKUP.internal:{port}" })
        {
            using var answer = await SendAsync(client, "/metrics", host, api.Ct);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{host}: {answer.StatusCode}");
        }

        using var other = await SendAsync(client, "/metrics", "backup.internal.attacker.example", api.Ct);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string route, string host, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(route, UriKind.Relative));
        request.Headers.Host = host;
        return await client.SendAsync(request, ct);
    }
}

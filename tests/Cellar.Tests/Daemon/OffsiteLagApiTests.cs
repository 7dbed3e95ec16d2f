using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>A stream's offsite lag over time: per destination that takes it, only for a stream job, only with the token.</summary>
public sealed class OffsiteLagApiTests : IDisposable
{
    private const string Token = "offsite-lag-api-test-token-0123456789";
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_stream_answers_per_destination_and_anything_else_is_404_or_401()
    {
        var nas = Directory.CreateDirectory(_temp.Combine("nas")).FullName;
        await using var api = await InProcessDaemon.StartAsync(Token, configure: config =>
        {
            config["offsite"] = new JsonObject { ["nas"] = new JsonObject { ["type"] = "local", ["path"] = nas } };
            config["jobs"]!["live"] = new JsonObject { ["type"] = "stream", ["folder"] = "stream" };
        });
        using var client = api.Client(Token);

        var answer = await client.GetFromJsonAsync<JsonElement>("/api/admin/jobs/live/offsite-lag", api.Ct);
        Assert.Equal("nas", answer.EnumerateArray().Single().GetProperty("destination").GetString());

        foreach (var (job, said) in new[] { ("daily", "is not a stream"), ("nope", "nope") })
        {
            using var refused = await client.GetAsync(new Uri($"/api/admin/jobs/{job}/offsite-lag", UriKind.Relative), api.Ct);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Contains(said, await refused.Content.ReadAsStringAsync(api.Ct), StringComparison.Ordinal);
        }

        using var anonymous = new HttpClient { BaseAddress = api.Address };
        using var withoutToken = await anonymous.GetAsync(new Uri("/api/admin/jobs/live/offsite-lag", UriKind.Relative), api.Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutToken.StatusCode);
    }
}

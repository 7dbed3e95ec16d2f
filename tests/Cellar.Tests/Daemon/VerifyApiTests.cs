using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>A backup's full check on request: only a name the job's own list holds is checked, and the check is recorded.</summary>
public sealed class VerifyApiTests
{
    private const string Token = "verify-api-test-token-0123456789";

    [Fact]
    public async Task A_listed_backup_is_checked_and_recorded_and_any_other_name_is_404_without_touching_the_disk()
    {
        await using var api = await InProcessDaemon.StartAsync(Token);
        using var client = api.Client(Token);
        var name = Path.GetFileName(await BackUpAsync(api, client));

        using var checkedOne = await client.PostAsync(new Uri($"/api/admin/jobs/daily/verify?file={Uri.EscapeDataString(name)}", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.OK, checkedOne.StatusCode);
        var answer = await checkedOne.Content.ReadFromJsonAsync<JsonElement>(api.Ct);
        Assert.True(answer.GetProperty("ok").GetBoolean(), answer.ToString());
        Assert.Equal(name, answer.GetProperty("file").GetString());
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", api.Ct))[0].GetProperty("stage").GetInt32());

        foreach (var hostile in new[] { "../../../etc/passwd", "/etc/passwd", name + ".json", "", "no-such-backup.sqlite.gz" })
        {
            using var refused = await client.PostAsync(new Uri($"/api/admin/jobs/daily/verify?file={Uri.EscapeDataString(hostile)}", UriKind.Relative), null, api.Ct);
            Assert.True(refused.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{hostile}: {refused.StatusCode}");
        }

        using var unknownJob = await client.PostAsync(new Uri($"/api/admin/jobs/nope/verify?file={Uri.EscapeDataString(name)}", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknownJob.StatusCode);

        using var anonymous = new HttpClient { BaseAddress = api.Address };
        using var withoutToken = await anonymous.PostAsync(new Uri($"/api/admin/jobs/daily/verify?file={Uri.EscapeDataString(name)}", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutToken.StatusCode);
    }

    [Fact]
    public async Task A_damaged_backup_is_answered_as_failed_with_what_is_wrong_and_listed_as_unverified()
    {
        await using var api = await InProcessDaemon.StartAsync(Token);
        using var client = api.Client(Token);
        var file = await BackUpAsync(api, client);
        var name = Path.GetFileName(file);
        using (var damage = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            damage.Position = damage.Length / 2;
            var b = damage.ReadByte();
            damage.Position--;
            damage.WriteByte((byte)(b ^ 0x40));
        }

        using var checkedOne = await client.PostAsync(new Uri($"/api/admin/jobs/daily/verify?file={Uri.EscapeDataString(name)}", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.OK, checkedOne.StatusCode);
        var answer = await checkedOne.Content.ReadFromJsonAsync<JsonElement>(api.Ct);
        Assert.False(answer.GetProperty("ok").GetBoolean(), answer.ToString());
        Assert.NotEmpty(answer.GetProperty("problems").EnumerateArray());
        Assert.False((await client.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", api.Ct))[0].GetProperty("verified").GetBoolean());
    }

    /// <summary>Runs the daily job through the API and returns the path of the backup it lists.</summary>
    private static async Task<string> BackUpAsync(InProcessDaemon api, HttpClient client)
    {
        using (var run = await client.PostAsync(new Uri("/api/admin/jobs/daily?wait=true", UriKind.Relative), null, api.Ct))
        {
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        }

        return (await client.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", api.Ct))[0].GetProperty("file").GetString()!;
    }
}

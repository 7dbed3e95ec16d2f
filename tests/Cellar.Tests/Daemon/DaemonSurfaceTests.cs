using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// What the daemon shows whoever can reach its port, on a real Kestrel on 127.0.0.1: only requests addressed to it by a
/// name it knows (against DNS rebinding), no paths, no writes, headers that keep browsers and proxies from misusing an
/// answer, and a metrics token for those who want one.
/// </summary>
public sealed class DaemonSurfaceTests
{
    private const string Token = "0123456789abcdef-test-token";

    private static readonly string[] OpenRoutes = ["/healthz", "/readyz", "/metrics", "/openapi/v1.json"];

    [Fact]
    public async Task A_request_for_a_host_name_the_daemon_does_not_know_gets_400_on_every_route()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var anonymous = new HttpClient { BaseAddress = api.Address };

        foreach (var route in OpenRoutes.Append("/api/admin/backup-status"))
        {
            // What a browser sends after a page on attacker.example made its name resolve to 127.0.0.1: no token.
            using var rebound = await SendAsync(anonymous, route, $"attacker.example:{api.Address.Port}", api.Ct);

            Assert.True(rebound.StatusCode == HttpStatusCode.BadRequest, $"{route}: {rebound.StatusCode}");
            Assert.DoesNotContain("cellar_", await rebound.Content.ReadAsStringAsync(api.Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_request_with_the_token_is_answered_under_any_host_name_as_the_apps_container_calls_it()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var app = api.Client(Token);

        using var status = await SendAsync(app, "/api/admin/backup-status", $"cellar:{api.Address.Port}", api.Ct);
        using var metrics = await SendAsync(app, "/metrics", $"cellar:{api.Address.Port}", api.Ct);

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task Loopback_names_IP_addresses_and_allowedHosts_are_answered()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config => config["allowedHosts"] = new JsonArray("backup.internal"));
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        var port = api.Address.Port;

        foreach (var host in new[] { $"localhost:{port}", $"127.0.0.1:{port}", $"[::1]:{port}", $"10.1.2.3:{port}", "backup.internal", $"BACKUP.internal:{port}" })
        {
            using var answer = await SendAsync(anonymous, "/metrics", host, api.Ct);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{host}: {answer.StatusCode}");
        }

        using var other = await SendAsync(anonymous, "/metrics", "backup.internal.attacker.example", api.Ct);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    [Fact]
    public async Task Every_answer_says_nosniff_and_no_store()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);
        using var anonymous = new HttpClient { BaseAddress = api.Address };

        var answers = new List<HttpResponseMessage>();
        foreach (var route in OpenRoutes.Append("/api/admin/backup-status").Append("/api/admin/runs/00000000-0000-0000-0000-000000000000"))
        {
            answers.Add(await client.GetAsync(new Uri(route, UriKind.Relative), api.Ct));
        }

        answers.Add(await anonymous.GetAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct));
        answers.Add(await client.PostAsync(new Uri("/api/admin/jobs/nosuch", UriKind.Relative), null, api.Ct));
        answers.Add(await SendAsync(anonymous, "/healthz", "attacker.example", api.Ct));

        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.NotFound);
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.BadRequest);
        Assert.All(answers, answer =>
        {
            var route = answer.RequestMessage!.RequestUri!.AbsolutePath;
            Assert.True(answer.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff", $"{route}: no nosniff");
            Assert.True(answer.Headers.CacheControl?.NoStore == true, $"{route}: no no-store");
        });
        answers.ForEach(a => a.Dispose());
    }

    [Fact]
    public async Task Readyz_names_no_path_and_writes_nothing_in_the_backup_folders()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).StatusCode);
        var galleryFolder = Path.Combine(api.Sandbox.BackupRoot, "event-triggered");
        var dailyChanged = Directory.GetLastWriteTimeUtc(api.Sandbox.DailyFolder);
        var rootChanged = Directory.GetLastWriteTimeUtc(api.Sandbox.BackupRoot);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative), api.Ct)).StatusCode);
        }

        File.Delete(api.Sandbox.Database);
        using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative), api.Ct);
        var body = await notReady.Content.ReadAsStringAsync(api.Ct);

        Assert.Equal(dailyChanged, Directory.GetLastWriteTimeUtc(api.Sandbox.DailyFolder));
        Assert.Equal(rootChanged, Directory.GetLastWriteTimeUtc(api.Sandbox.BackupRoot));
        Assert.False(Directory.Exists(galleryFolder), "/readyz created the folder of a job that never ran");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("database portfolio does not exist", body, StringComparison.Ordinal);
        Assert.DoesNotContain(api.Sandbox.Root, body, StringComparison.Ordinal);
        Assert.DoesNotContain("/", JsonNode.Parse(body)!["problems"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_during_a_snapshot_leaves_SQLites_lock_on_the_database()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        var database = api.Sandbox.Database;
        await StockSqlite.RunAsync(database, "PRAGMA journal_mode=DELETE; CREATE TABLE IF NOT EXISTS probe(x);"u8.ToArray(), api.Ct);

        // A read transaction in this process, as the daemon's own snapshot holds one while it copies: in
        // rollback-journal mode its lock is what keeps the app's commits out of the copy.
        await using var snapshot = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await snapshot.OpenAsync(api.Ct);
        using var read = snapshot.BeginTransaction(deferred: true);
        await using (var count = snapshot.CreateCommand())
        {
            count.CommandText = "SELECT count(*) FROM sqlite_schema";
            await count.ExecuteScalarAsync(api.Ct);
        }

        using var anonymous = new HttpClient { BaseAddress = api.Address };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/readyz", UriKind.Relative), api.Ct)).StatusCode);

        // The app (another process) must still be unable to commit while the snapshot reads.
        var write = await Assert.ThrowsAsync<InvalidOperationException>(() => StockSqlite.RunAsync(database, "INSERT INTO probe VALUES (1);"u8.ToArray(), api.Ct));
        Assert.Contains("locked", write.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_metrics_token_metrics_need_it_or_the_admin_token()
    {
        const string MetricsToken = "prometheus-scrape-token-0123456789";
        string? tokenFile = null;
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config =>
        {
            tokenFile = Path.Combine(Path.GetDirectoryName(config["database"]!.GetValue<string>())!, "metrics-token");
            File.WriteAllText(tokenFile, MetricsToken + "\n");
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            config["metricsTokenFile"] = tokenFile;
        });
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        using var scraper = api.Client(MetricsToken);
        using var admin = api.Client(Token);
        using var wrong = api.Client("not-the-metrics-token-at-all");

        using var refused = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
        using var wrongly = await wrong.GetAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
        using var scraped = await scraper.GetAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
        using var byAdmin = await admin.GetAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
        using var adminRoutes = await scraper.GetAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.DoesNotContain("cellar_", await refused.Content.ReadAsStringAsync(api.Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongly.StatusCode);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("cellar_backup_disk_free_bytes", await scraped.Content.ReadAsStringAsync(api.Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, adminRoutes.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative), api.Ct)).StatusCode);
    }

    [Fact]
    public async Task A_body_too_large_gets_413_and_the_log_no_stack_trace()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        await using var daemon = await DaemonProcess.StartAsync(sandbox);
        var ct = TestContext.Current.CancellationToken;

        using var answer = await daemon.Client.PostAsync(
            new Uri("/api/admin/backup-on-gallery-add", UriKind.Relative),
            new StringContent("{\"galleryName\": \"" + new string('a', 1 << 20) + "\"}", Encoding.UTF8, "application/json"),
            ct);
        using var after = await daemon.Client.GetAsync(new Uri("/healthz", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.DoesNotContain("   at ", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", daemon.Output, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string route, string host, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(route, UriKind.Relative));
        request.Headers.Host = host;
        return await client.SendAsync(request, ct);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cellar.Core.Catalog;
using Cellar.Daemon;
using Cellar.Tests.Cli;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Cellar.Core.Storage;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>The admin API on a real Kestrel bound to 127.0.0.1 and a random port, backed by real backups.</summary>
/// <remarks>Over 300 lines on purpose: one test per promise of the admin API, sharing one daemon harness.</remarks>
public sealed partial class AdminApiTests
{
    private const string Token = "0123456789abcdef-test-token";

    [Fact]
    public async Task Admin_routes_need_the_bearer_token_and_answer_503_when_none_is_configured()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        using var wrong = api.Client("wrong-token-wrong-token");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(new Uri("/api/admin/trigger-backup", UriKind.Relative), null, api.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Client(Token).GetAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative), api.Ct)).StatusCode);

        await using var tokenless = await InProcessDaemon.StartAsync(token: null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await tokenless.Client(Token).GetAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct)).StatusCode);
    }

    [Theory]
    [InlineData("\"; rm -rf / #")]
    [InlineData("$(reboot)")]
    [InlineData("../../etc/passwd")]
    [InlineData("nul\u0000byte")]
    [InlineData("\u202Egnp.exe")]
    [InlineData("🎉🎉🎉")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Hostile_gallery_names_get_400_and_create_no_file(string? name)
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        var before = Files(api.Sandbox.Root);
        var body = name is null ? "{}" : JsonSerializer.Serialize(new { galleryName = name });

        var response = await api.Client(Token).PostAsync(new Uri("/api/admin/backup-on-gallery-add?wait=true", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"), api.Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, Files(api.Sandbox.Root));
    }

    [Fact]
    public async Task A_name_of_10000_characters_gets_400()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        var response = await api.Client(Token).PostAsJsonAsync(new Uri("/api/admin/backup-on-gallery-add", UriKind.Relative), new { galleryName = new string('a', 10_000) }, api.Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task The_seeds_gallery_route_with_wait_returns_the_verified_file_named_after_the_slug()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);

        var response = await api.Client(Token).PostAsJsonAsync(new Uri("/api/admin/backup-on-gallery-add?wait=true", UriKind.Relative), new { galleryName = "Été à Paris" }, api.Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(api.Ct))!;
        Assert.True(answer["success"]!.GetValue<bool>());
        var file = answer["file"]!.GetValue<string>();
        Assert.Contains("gallery-added-ete-a-paris-", file, StringComparison.Ordinal);
        Assert.Equal("Été à Paris", Sidecar.TryRead(file)!.Tag);
        Assert.True(answer["sizeBytes"]!.GetValue<long>() > 0);
    }

    [Fact]
    public async Task Fifty_concurrent_triggers_never_overlap_and_leave_only_sound_backups()
    {
        var log = new LogRecorder();
        await using var api = await InProcessDaemon.StartAsync(token: Token, logs: log);
        using var client = api.Client(Token);

        // Two jobs of one database: daily and gallery write different folders, so no folder lock keeps their runs apart,
        // only the dispatcher. Triggers of daily fold into its waiting run; each gallery has a run of its own.
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => i % 25 == 0
            ? client.PostAsJsonAsync(new Uri("/api/admin/backup-on-gallery-add", UriKind.Relative), new { galleryName = $"Gallery {i}" }, api.Ct)
            : client.PostAsync(new Uri("/api/admin/trigger-backup", UriKind.Relative), null, api.Ct)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = new HashSet<string>();
        foreach (var response in responses)
        {
            ids.Add(JsonNode.Parse(await response.Content.ReadAsStringAsync(api.Ct))!["id"]!.GetValue<string>());
        }

        var waited = System.Diagnostics.Stopwatch.StartNew();
        foreach (var id in ids)
        {
            while (true)
            {
                var run = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/admin/runs/{id}", UriKind.Relative), api.Ct))!;
                var status = run["status"]!.GetValue<string>();
                if (status is "succeeded")
                {
                    break;
                }

                Assert.True(status is "queued" or "running", $"run {id}: {run}");
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"run {id} still {status} after 60 s");
                await Task.Delay(50, api.Ct);
            }
        }

        // Each run logs "started" as it begins and "wrote" once its backup is published: in the log, one run's pair
        // never encloses another's start.
        string? open = null;
        var started = 0;
        foreach (var (_, message) in log.Entries.Where(e => e.Category == "Cellar.Backup"))
        {
            if (RunStartedOrWrote().Match(message) is not { Success: true } match)
            {
                continue;
            }

            var job = match.Groups["job"].Value;
            if (match.Groups["what"].Value == "started")
            {
                Assert.True(open is null, $"a run of {job} started while one of {open} was still running");
                open = job;
                started++;
            }
            else
            {
                Assert.Equal(open, job);
                open = null;
            }
        }

        Assert.Equal(ids.Count, started);
        var backups = new[] { api.Sandbox.DailyFolder, Path.Combine(api.Sandbox.BackupRoot, "event-triggered") }
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.gz")).ToList();
        Assert.Equal(ids.Count, backups.Count);
        Assert.All(backups, backup => Assert.True(Sidecar.TryRead(backup)?.Verified, backup));
        var verify = await api.Sandbox.CellarAsync("verify", "--all");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [Fact]
    public async Task Triggers_beyond_sixty_a_minute_get_429_with_a_retry_hint()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);

        // Triggers of a job that is already waiting fold into its run, but each still counts.
        for (var i = 0; i < 60; i++)
        {
            using var counted = await client.PostAsync(new Uri("/api/admin/trigger-backup", UriKind.Relative), null, api.Ct);
            Assert.Equal(HttpStatusCode.Accepted, counted.StatusCode);
        }

        using var refused = await client.PostAsync(new Uri("/api/admin/jobs/gallery?tag=one-too-many", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("60", refused.Headers.GetValues("Retry-After").Single());
        Assert.False(Directory.Exists(Path.Combine(api.Sandbox.BackupRoot, "event-triggered")), "a refused trigger started a backup");
    }

    [Fact]
    public async Task Requests_refused_as_unknown_invalid_or_too_large_spend_no_trigger_permit()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);

        for (var i = 0; i < TriggerLimit.PerMinute; i++)
        {
            using var unknown = await client.PostAsync(new Uri("/api/admin/jobs/nosuch", UriKind.Relative), null, api.Ct);
            using var badName = await client.PostAsJsonAsync(new Uri("/api/admin/backup-on-gallery-add", UriKind.Relative), new { galleryName = "$(reboot)" }, api.Ct);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        }

        for (var i = 0; i < 3; i++)
        {
            using var tooLarge = await client.PostAsync(
                new Uri("/api/admin/backup-on-gallery-add", UriKind.Relative), new StringContent(new string(' ', 100_000) + "{}", Encoding.UTF8, "application/json"), api.Ct);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
            Assert.Equal("application/problem+json", tooLarge.Content.Headers.ContentType?.MediaType);
        }

        using var real = await client.PostAsync(new Uri("/api/admin/trigger-backup", UriKind.Relative), null, api.Ct);
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
    }

    [Fact]
    public async Task A_triggered_backup_goes_offsite_in_the_background_and_status_and_metrics_show_the_lag()
    {
        await using var server = await S3Server.StartAsync(TestContext.Current.CancellationToken);
        var keyFile = Path.Combine(Path.GetTempPath(), $"cellar-key-{Guid.NewGuid():N}");
        Offsite.OffsiteSandbox.WriteKey(keyFile);
        try
        {
            await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config =>
            {
                config["encryptionKeyFile"] = keyFile;
                config["offsite"] = new JsonObject
                {
                    ["spaces"] = new JsonObject
                    {
                        ["bucket"] = S3Server.Bucket,
                        ["endpoint"] = server.Endpoint.AbsoluteUri,
                        ["forcePathStyle"] = true,
                        ["credentialsFile"] = server.CredentialsFile,
                    },
                };
            });
            using var client = api.Client(Token);
            using var triggered = await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct);
            Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);

            using var store = new S3ObjectStore(server.Options());
            var waited = System.Diagnostics.Stopwatch.StartNew();
            JsonNode offsite;
            do
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the backup was not confirmed offsite");
                await Task.Delay(100, api.Ct);
                offsite = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct))!["offsite"]![0]!;
            }
            while (offsite["pending"]!.GetValue<int>() != 0);

            Assert.Equal("spaces", offsite["destination"]!.GetValue<string>());
            var listed = new List<string>();
            await foreach (var item in store.ListAsync("", api.Ct))
            {
                listed.Add(item.Key);
            }

            // The copy, its sidecar and the database's sealed manifest.
            Assert.Equal(3, listed.Count);
            Assert.Contains(listed, k => k.EndsWith(".sqlite.gz.enc", StringComparison.Ordinal));
            var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
            Assert.Contains("cellar_offsite_pending_backups{database=\"portfolio\",destination=\"spaces\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("cellar_offsite_lag_seconds{database=\"portfolio\",destination=\"spaces\"} 0", metrics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Status_turns_unhealthy_when_the_newest_daily_backup_is_too_old()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using var api = await InProcessDaemon.StartAsync(token: Token, clock);
        using var client = api.Client(Token);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).StatusCode);

        var fresh = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct))!;

        // The scheduler runs on the same fake clock and may fire the 02:00 run during the jump: without a database
        // that run fails, so the newest backup stays 27 h old whether it ran or not.
        File.Delete(api.Sandbox.Database);
        clock.Advance(TimeSpan.FromHours(27));
        var stale = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct))!;

        Assert.True(fresh["healthy"]!.GetValue<bool>(), fresh.ToJsonString());
        Assert.False(stale["healthy"]!.GetValue<bool>());
        Assert.Contains("daily", stale["reasons"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_count_runs_per_job_and_the_OpenAPI_document_lists_the_routes()
    {
        await using var api = await InProcessDaemon.StartAsync(token: Token);
        using var client = api.Client(Token);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).StatusCode);

        using var anonymous = new HttpClient { BaseAddress = api.Address };
        var metrics = await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative), api.Ct);
        var openApi = await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), api.Ct);

        Assert.Contains("cellar_job_runs_total{job=\"daily\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("cellar_job_last_size_bytes{job=\"daily\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("cellar_backup_disk_free_bytes", metrics, StringComparison.Ordinal);
        Assert.Contains("/api/admin/backup-on-gallery-add", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Heartbeats_follow_each_run_and_a_failure_also_reaches_the_webhook()
    {
        using var receiver = AlertReceiver.Start();
        await using var api = await InProcessDaemon.StartAsync(token: Token, configure: config =>
        {
            config["jobs"]!["daily"]!["heartbeatUrl"] = $"{receiver.Url}ping/daily";
            config["jobs"]!["daily"]!["webhookUrl"] = $"{receiver.Url}hook";
        });
        using var client = api.Client(Token);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).StatusCode);
        Assert.StartsWith("GET /ping/daily ", await receiver.Received.ReadAsync(api.Ct), StringComparison.Ordinal);

        File.Delete(api.Sandbox.Database);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).StatusCode);
        var alerts = new[] { await receiver.Received.ReadAsync(api.Ct), await receiver.Received.ReadAsync(api.Ct) };

        Assert.Contains(alerts, a => a.StartsWith("GET /ping/daily/fail", StringComparison.Ordinal));
        Assert.Contains(alerts, a => a.StartsWith("POST /hook", StringComparison.Ordinal) && a.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backup_the_verify_pass_finds_rotten_is_alerted_makes_status_unhealthy_and_is_counted_in_metrics()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        using var receiver = AlertReceiver.Start();
        await using var api = await InProcessDaemon.StartAsync(token: Token, clock, config =>
        {
            config["jobs"]!["daily"]!["webhookUrl"] = $"{receiver.Url}hook";
            config["verifySchedule"] = "30 12 * * *";
        });
        using var client = api.Client(Token);
        var answer = JsonNode.Parse(await (await client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, api.Ct)).Content.ReadAsStringAsync(api.Ct))!;
        var backup = answer["file"]!.GetValue<string>();
        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);

        // The verify pass waits on the fake clock, from a hosted service that may start after the app is up.
        string? alert = null;
        for (var minute = 0; alert is null && minute < 120; minute++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(api.Ct);
            wait.CancelAfter(TimeSpan.FromMilliseconds(100));
            alert = await receiver.Received.ReadAsync(wait.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
        }

        var status = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), api.Ct))!;
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        var metrics = await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative), api.Ct);

        Assert.NotNull(alert);
        Assert.StartsWith("POST /hook", alert, StringComparison.Ordinal);
        Assert.Contains("failed verification", alert, StringComparison.Ordinal);
        Assert.False(status["healthy"]!.GetValue<bool>());
        Assert.Contains(status["reasons"]!.AsArray(), r => r!.GetValue<string>().Contains("checksum mismatch", StringComparison.Ordinal));
        Assert.True(metrics.Contains("cellar_backups_failed_verification{job=\"daily\"} 1", StringComparison.Ordinal), metrics);
    }

    [Fact]
    public async Task A_log_that_passes_maxBytes_is_rotated_by_the_daemons_minute_check()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        string? log = null;
        await using var api = await InProcessDaemon.StartAsync(token: Token, clock, config =>
        {
            log = Path.Combine(Path.GetDirectoryName(config["database"]!.GetValue<string>())!, "backend.log");
            config["jobs"]!["logs"] = new JsonObject
            {
                ["type"] = "rotate",
                ["schedule"] = "0 1 * * *",
                ["folder"] = "logs-archive",
                ["fileName"] = "backend-{yyyy}-{MM}-{dd}.log",
                ["path"] = log,
                ["maxBytes"] = 4096,
            };
        });
        await File.WriteAllTextAsync(log!, string.Concat(Enumerable.Repeat("GET /api/feed 200 12ms\n", 400)), api.Ct);
        var archives = Path.Combine(api.Sandbox.BackupRoot, "logs-archive");

        // The hosted service starts its minute timer on a thread of its own (.NET 10), maybe after the app is up:
        // keep moving the clock a minute at a time until the check has run.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        // The archive takes its name before the live file is cut: wait for both.
        while (!Directory.Exists(archives) || !Directory.EnumerateFiles(archives, "*.gz").Any() || new FileInfo(log!).Length >= 4096)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "the oversized log was not rotated after the minute check");
            clock.Advance(TimeSpan.FromSeconds(61));
            await Task.Delay(100, api.Ct);
        }

        Assert.True(new FileInfo(log!).Length < 4096);
    }

    [GeneratedRegex(@"^job (?<job>\S+): (?<what>started|wrote)\b")]
    private static partial Regex RunStartedOrWrote();

    private static IReadOnlyList<string> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/logs/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary>An HTTP server on loopback standing in for healthchecks.io and a webhook: each request as "METHOD PATH BODY".</summary>
    private sealed class AlertReceiver : IDisposable
    {
        private readonly System.Net.HttpListener _listener = new();
        private readonly System.Threading.Channels.Channel<string> _received = System.Threading.Channels.Channel.CreateUnbounded<string>();

        private AlertReceiver()
        {
            Url = $"http://127.0.0.1:{LoopbackPort.Free()}/";
            _listener.Prefixes.Add(Url);
        }

        public string Url { get; }

        public System.Threading.Channels.ChannelReader<string> Received => _received.Reader;

        public static AlertReceiver Start()
        {
            var receiver = new AlertReceiver();
            receiver._listener.Start();
            _ = Task.Run(receiver.ServeAsync, TestContext.Current.CancellationToken);
            return receiver;
        }

        public void Dispose() => _listener.Stop();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                System.Net.HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (System.Net.HttpListenerException)
                {
                    return; // stopped
                }

                using var reader = new StreamReader(context.Request.InputStream);
                await _received.Writer.WriteAsync($"{context.Request.HttpMethod} {context.Request.Url!.AbsolutePath} {await reader.ReadToEndAsync()}");
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }
    }
}

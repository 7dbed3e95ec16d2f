using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Tests.Daemon;
using Cellar.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Xunit;

namespace Cellar.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven headless by Playwright) against the daemon on loopback:
/// a wrong token shows an error and no data, the right one every job's card with its history drawn, a trigger from the
/// page makes a backup and another checks one, and nothing logs an error. Screenshots at phone and desktop widths (and desktop in dark mode) go to
/// <c>CELLAR_SCREENSHOTS</c> (CI keeps them with its results) or the test's temp folder.
/// </summary>
public sealed class DashboardBrowserTests : IDisposable
{
    private const string Token = "dashboard-test-token-0123456789";
    private const string Chromium = "/usr/bin/chromium";
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_person_with_the_token_sees_every_job_and_its_history_and_can_trigger_a_backup_and_a_wrong_token_sees_nothing()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is not installed (Debian's chromium package; ./test.sh installs it)");
        var ct = TestContext.Current.CancellationToken;
        var nas = Directory.CreateDirectory(_temp.Combine("nas")).FullName;
        using var logs = new LogRecorder();
        await using var daemon = await InProcessDaemon.StartAsync(Token, configure: config =>
        {
            config["offsite"] = new JsonObject { ["nas"] = new JsonObject { ["type"] = "local", ["path"] = nas } };
            config["jobs"]!["live"] = new JsonObject { ["type"] = "stream", ["folder"] = "stream" };
        }, logs: logs);
        using var api = daemon.Client(Token);

        // A seeded history: three backups of the daily job, a second apart so each has its own name, each copied to
        // the offsite folder by the daemon.
        for (var i = 0; i < 3; i++)
        {
            using var seeded = await api.PostAsync(new Uri("/api/admin/jobs/daily?wait=true", UriKind.Relative), null, ct);
            Assert.True(seeded.IsSuccessStatusCode, await seeded.Content.ReadAsStringAsync(ct));
            await Task.Delay(TimeSpan.FromSeconds(1.1), ct);
        }

        var copying = System.Diagnostics.Stopwatch.StartNew();
        while ((await api.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", ct)).EnumerateArray().Any(b => b.GetProperty("offsite").GetArrayLength() == 0))
        {
            Assert.True(copying.Elapsed < TimeSpan.FromSeconds(60), "the seeded backups did not reach the offsite folder: "
                + await api.GetStringAsync(new Uri("/api/admin/backups?job=daily", UriKind.Relative), ct)
                + await api.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), ct) + string.Join("\n", logs.Entries.Select(e => e.Category + ": " + e.Message)));
            await Task.Delay(200, ct);
        }

        var jobs = (await api.GetFromJsonAsync<JsonElement>("/api/admin/backup-status", ct)).GetProperty("jobs").GetArrayLength();

        // A seeded hour of the stream's offsite lag at nas, an outage of half an hour in it (beside whatever minutes
        // the daemon's own uploader records meanwhile).
        var live = (StreamJob)daemon.Services.GetRequiredService<CellarConfig>().FindJob("live");
        var hourAgo = TimeProvider.System.GetUtcNow().AddHours(-1);
        File.AppendAllLines(StreamLag.PathOf(live, live.Database.Offsite.Single(d => d.Name == "nas")),
            new[] { 0, 1.2, 1800, 0.9, 0 }.Select((seconds, i) => $"{hourAgo.AddMinutes(i):yyyy-MM-ddTHH:mm:00Z} {seconds}"));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var (page, errors) = await OpenAsync(browser);

        await page.GotoAsync(daemon.Address.ToString());
        await page.Locator("#token").FillAsync("not-the-token-but-long-enough");
        await page.Locator("#login button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#login-error")).ToContainTextAsync("refused");
        Assert.Equal(0, await page.Locator("#jobs .card").CountAsync());

        // The refused request logs one console error of the browser's own (the 401); nothing else may.
        errors.RemoveAll(e => e.Contains("401", StringComparison.Ordinal));
        await page.Locator("#token").FillAsync(Token);
        await page.Locator("#login button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#jobs .card")).ToHaveCountAsync(jobs);
        var daily = page.Locator("#jobs .card[data-job=daily]");
        await Assertions.Expect(daily.Locator("figure.history")).ToHaveAttributeAsync("data-points", "3");
        await Assertions.Expect(daily.Locator("figure.history")).ToHaveAttributeAsync("data-offsite-points", "3");
        await Assertions.Expect(daily.Locator("figure.timeline")).ToHaveAttributeAsync("data-points", "3");
        await Assertions.Expect(daily.Locator("dd", new() { HasText = "every backup confirmed" })).ToHaveCountAsync(1);

        // The stream's card: the window it restores, drawn on its timeline, and how far its offsite copy reaches.
        var stream = page.Locator("#jobs .card[data-job=live]");
        await Assertions.Expect(stream.Locator("dt", new() { HasText = "Restorable" })).ToHaveCountAsync(1);
        await Assertions.Expect(stream.Locator("figure.timeline")).ToHaveAttributeAsync("data-points", "1");
        await Assertions.Expect(stream.Locator("dt", new() { HasText = "Offsite nas" })).ToHaveCountAsync(1);

        // ... and its offsite lag over time: every point the API has, the seeded ones among them.
        var lag = (await api.GetFromJsonAsync<JsonElement>("/api/admin/jobs/live/offsite-lag", ct)).EnumerateArray().Single();
        Assert.Equal("nas", lag.GetProperty("destination").GetString());
        var lagPoints = lag.GetProperty("points").EnumerateArray().ToList();
        Assert.True(lagPoints.Count >= 5 && lagPoints.Any(p => p.GetProperty("seconds").GetDouble() == 1800), lag.ToString());
        await Assertions.Expect(stream.Locator("figure.lag")).ToHaveAttributeAsync("data-points", lagPoints.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 15000 });
        Assert.True(await stream.Locator("figure.lag canvas").CountAsync() > 0, "the stream's offsite lag was not drawn");
        Assert.True(await daily.Locator("figure.history canvas").CountAsync() > 0, "the daily job's history was not drawn");
        Assert.True(await daily.Locator("figure.timeline canvas").CountAsync() > 0, "the daily job's restore points were not drawn");

        // Hovering the newest point names its file.
        var plot = daily.Locator("figure.history .u-over");
        var box = (await plot.BoundingBoxAsync())!;
        await plot.HoverAsync(new() { Position = new() { X = box.Width - 1, Y = box.Height / 2 } });
        await Assertions.Expect(daily.Locator("figure.history figcaption")).ToContainTextAsync("portfolio-");
        await Screenshot(page, "desktop");

        // A restore is a command to copy, never an action of the page.
        await daily.Locator("details summary", new() { HasText = "Restore" }).ClickAsync();
        await Assertions.Expect(daily.Locator("details code")).ToHaveTextAsync("cellar restore --latest daily --to /path/to/restored.sqlite");

        // Dark when the system is.
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        Assert.Equal("rgb(18, 22, 28)", await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"));
        await Screenshot(page, "desktop-dark");
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });

        // On a phone nothing is wider than the screen: no sideways scrolling.
        await page.SetViewportSizeAsync(390, 844);
        await page.WaitForFunctionAsync("() => document.documentElement.scrollWidth <= innerWidth", null, new() { Timeout = 5000 }).ContinueWith(_ => { }, ct);
        var wider = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName + '.' + e.className)");
        Assert.True(wider.Length == 0, "wider than a phone's screen: " + string.Join(", ", wider));
        await Screenshot(page, "phone");

        await daily.Locator("button", new() { HasText = "Run now" }).ClickAsync();
        await Assertions.Expect(daily.Locator(".answer")).ToContainTextAsync("queued");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((await api.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", ct)).GetArrayLength() < 4)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "the backup triggered from the page never appeared");
            await Task.Delay(200, ct);
        }

        // The full check of the oldest backup, picked on the page.
        var oldest = Path.GetFileName((await api.GetFromJsonAsync<JsonElement>("/api/admin/backups?job=daily", ct)).EnumerateArray()
            .OrderBy(b => b.GetProperty("created").GetDateTimeOffset()).First().GetProperty("file").GetString()!);
        await daily.Locator("select").SelectOptionAsync(oldest);
        await daily.Locator("button", new() { HasText = "Verify" }).ClickAsync();
        await Assertions.Expect(daily.Locator(".answer")).ToContainTextAsync($"{oldest}: full check passed", new() { Timeout = 60_000 });

        Assert.True(errors.Count == 0, "console errors: " + string.Join(" | ", errors));
    }

    [Fact]
    public async Task Behind_a_reverse_proxy_under_a_path_prefix_the_page_finds_its_files_and_the_api()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is not installed (Debian's chromium package; ./test.sh installs it)");
        await using var daemon = await InProcessDaemon.StartAsync(Token);
        await using var proxy = await PrefixProxyAsync(daemon.Address);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var (page, errors) = await OpenAsync(browser);

        await page.GotoAsync(new Uri(ProxyAddress(proxy), "cellar/").ToString());
        await page.Locator("#token").FillAsync(Token);
        await page.Locator("#login button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#jobs .card[data-job=daily]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#summary")).Not.ToBeEmptyAsync();
        Assert.True(errors.Count == 0, "console errors: " + string.Join(" | ", errors));
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });

    /// <summary>A desktop-sized page, and every error its console logs or its scripts throw.</summary>
    private static async Task<(IPage Page, List<string> Errors)> OpenAsync(IBrowser browser)
    {
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        return (page, errors);
    }

    /// <summary>
    /// A reverse proxy on loopback serving the daemon under <c>/cellar/</c>, as nginx's
    /// <c>location /cellar/ { proxy_pass http://127.0.0.1:PORT/; }</c> does: the prefix is cut off on the way in.
    /// </summary>
    private static async Task<WebApplication> PrefixProxyAsync(Uri daemon)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var client = new HttpClient { BaseAddress = daemon };
        app.Map("/cellar/{**rest}", async (HttpContext context, string? rest) =>
        {
            using var forwarded = new HttpRequestMessage(new HttpMethod(context.Request.Method), "/" + rest + context.Request.QueryString);
            if (context.Request.Headers.Authorization.Count > 0)
            {
                forwarded.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
            }

            using var answer = await client.SendAsync(forwarded, context.RequestAborted);
            context.Response.StatusCode = (int)answer.StatusCode;
            foreach (var (name, values) in answer.Content.Headers)
            {
                context.Response.Headers[name] = values.ToArray();
            }

            await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static Uri ProxyAddress(WebApplication proxy) =>
        new(proxy.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single() + "/");

    private async Task Screenshot(IPage page, string name)
    {
        var folder = Environment.GetEnvironmentVariable("CELLAR_SCREENSHOTS") is { Length: > 0 } configured ? configured : _temp.Path;
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"dashboard-{name}.png"), FullPage = true });
    }
}

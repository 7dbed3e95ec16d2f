using System.Net;
using Cellar.Tests.Daemon;
using Xunit;

namespace Cellar.Tests.Dashboard;

/// <summary>The dashboard's files over HTTP: a shell that reveals nothing, a strict policy, and nothing else served.</summary>
public sealed class DashboardPageTests
{
    [Fact]
    public async Task The_page_shell_holds_no_data_and_comes_with_a_policy_that_allows_only_its_own_files()
    {
        await using var daemon = await InProcessDaemon.StartAsync("dashboard-page-token-0123456789");
        using var anonymous = new HttpClient { BaseAddress = daemon.Address };

        using var page = await anonymous.GetAsync(new Uri("/", UriKind.Relative), daemon.Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var shell = await page.Content.ReadAsStringAsync(daemon.Ct);
        foreach (var secret in new[] { "daily", "gallery", daemon.Sandbox.Combine(""), "portfolio" })
        {
            Assert.DoesNotContain(secret, shell, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("<script>", shell, StringComparison.Ordinal);
        var policy = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);

        foreach (var (file, type) in new[] { ("app.js", "text/javascript"), ("app.css", "text/css"), ("uPlot.iife.min.js", "text/javascript"), ("uPlot.min.css", "text/css") })
        {
            using var asset = await anonymous.GetAsync(new Uri("/dashboard/" + file, UriKind.Relative), daemon.Ct);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal(type, asset.Content.Headers.ContentType?.MediaType);
        }

        // Only the embedded files: no other resource of the binary, and no path is ever looked up on disk.
        foreach (var other in new[] { "index.html.bak", "uPlot.LICENSE.txt", "..%2F..%2Fcellar.json", "%2Fetc%2Fpasswd", "Cellar.Core.xml" })
        {
            using var refused = await anonymous.GetAsync(new Uri("/dashboard/" + other, UriKind.Relative), daemon.Ct);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
    }
}

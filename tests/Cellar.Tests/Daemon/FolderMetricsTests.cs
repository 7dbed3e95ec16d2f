using System.Net;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>What a Prometheus scrape costs the backup folders: <c>cellar serve</c> as a child process, watched through inotify.</summary>
public sealed class FolderMetricsTests
{
    [Fact]
    public async Task Scrapes_open_nothing_in_the_backup_folders_until_one_changes_and_then_show_the_change()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var nas = Directory.CreateDirectory(sandbox.Combine("nas")).FullName;
        await using var daemon = await DaemonProcess.StartAsync(sandbox, config =>
            config["offsite"] = new JsonObject { ["nas"] = new JsonObject { ["type"] = "local", ["path"] = nas } });
        var answer = JsonNode.Parse(await (await daemon.Client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, ct)).Content.ReadAsStringAsync(ct))!;
        var backup = answer["file"]!.GetValue<string>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (JsonNode.Parse(await daemon.Client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), ct))!["offsite"]![0]!["pending"]!.GetValue<int>() != 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the backup did not reach the offsite folder");
            await Task.Delay(100, ct);
        }

        var verified = await sandbox.CellarAsync("verify", "--all");
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Contains("cellar_offsite_pending_backups{database=\"portfolio\",destination=\"nas\"} 0", await ScrapeAsync(daemon, ct), StringComparison.Ordinal);

        using var opens = new FolderOpens(sandbox.DailyFolder, Path.Combine(sandbox.BackupRoot, ".cellar-offsite"));
        for (var i = 0; i < 5; i++)
        {
            await ScrapeAsync(daemon, ct);
        }

        var whileIdle = opens.Take();
        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);
        var rotten = await sandbox.CellarAsync("verify", "--all");
        var afterCheck = await ScrapeAsync(daemon, ct);

        Assert.True(whileIdle.Count == 0, $"idle scrapes opened: {string.Join(", ", whileIdle)}");
        Assert.Equal(1, rotten.ExitCode);
        Assert.Contains("cellar_backups_failed_verification{job=\"daily\"} 1", afterCheck, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(DaemonProcess daemon, CancellationToken ct)
    {
        using var answer = await daemon.Client.GetAsync(new Uri("/metrics", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadAsStringAsync(ct);
    }
}

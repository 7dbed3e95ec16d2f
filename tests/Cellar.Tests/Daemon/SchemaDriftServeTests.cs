using System.Net;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// The daemon with a table of the <c>social</c> job renamed under it: it starts, runs every other job, and reports the
/// social job's failure where an operator looks (backup-status, the run's answer).
/// </summary>
public sealed class SchemaDriftServeTests
{
    [Fact]
    public async Task The_daemon_starts_with_a_renamed_social_table_and_backup_status_names_the_failed_social_job_while_daily_succeeds()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(2 << 20, withSocial: true);
        using (var connection = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE follows RENAME TO follows_v1";
            command.ExecuteNonQuery();
        }

        await using var daemon = await DaemonProcess.StartAsync(sandbox, config => config["jobs"]!["social"]!["catchUp"] = false);
        using var social = await daemon.Client.PostAsync(new Uri("/api/admin/jobs/social?wait=true", UriKind.Relative), null, ct);
        using var daily = await daemon.Client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, ct);
        var status = JsonNode.Parse(await daemon.Client.GetStringAsync(new Uri("/api/admin/backup-status", UriKind.Relative), ct))!;
        var metrics = await daemon.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.InternalServerError, social.StatusCode);
        Assert.Contains("jobs:social:tables:3", await social.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, daily.StatusCode);
        Assert.False(status["healthy"]!.GetValue<bool>(), status.ToJsonString());
        var reasons = status["reasons"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        Assert.Contains(reasons, r => r.StartsWith("job social: last run failed", StringComparison.Ordinal) && r.Contains("'follows'", StringComparison.Ordinal));
        Assert.DoesNotContain(reasons, r => r.StartsWith("job daily", StringComparison.Ordinal));
        Assert.Contains("cellar_job_failures_total{job=\"social\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("cellar_job_failures_total{job=\"daily\"}", metrics, StringComparison.Ordinal);
    }
}

using System.Net.Http.Json;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Verification;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// Per-job alerts: a push heartbeat after each run (<c>heartbeatUrl</c> on success, <c>heartbeatUrl/fail</c> on
/// failure, the healthchecks.io and Uptime Kuma convention) and a JSON POST to <c>webhookUrl</c> for each failure.
/// An alert that cannot be delivered is logged and never fails the job.
/// </summary>
internal static partial class Alerts
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Tells of a job's success: its heartbeat.</summary>
    public static async Task SucceededAsync(ILogger logger, JobConfig job)
    {
        if (job.HeartbeatUrl is { } url)
        {
            await SendAsync(logger, job, () => Http.GetAsync(url)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Tells of a job's failure: its heartbeat's <c>/fail</c> and its webhook. Also for a stored backup that a later
    /// check found bad, which no run reports.
    /// </summary>
    public static async Task FailedAsync(CellarConfig config, TimeProvider time, ILogger logger, JobConfig job, string? tag, string error)
    {
        if (job.HeartbeatUrl is { } failUrl)
        {
            await SendAsync(logger, job, () => Http.GetAsync(new Uri(failUrl.AbsoluteUri.TrimEnd('/') + "/fail"))).ConfigureAwait(false);
        }

        if (job.WebhookUrl is { } webhook)
        {
            var body = new FailureAlert(job.QualifiedName(config), tag, error, time.GetUtcNow());
            await SendAsync(logger, job, () => Http.PostAsJsonAsync(webhook, body, DaemonJson.Default.FailureAlert)).ConfigureAwait(false);
        }
    }

    /// <summary>Tells of each backup a check found bad, through its job's alerts.</summary>
    public static async Task BadBackupsAsync(CellarConfig config, TimeProvider time, ILogger logger, SweepResult sweep)
    {
        foreach (var bad in sweep.Bad)
        {
            if (BackupCatalog.JobOf(config, bad.Path) is { } job)
            {
                await FailedAsync(config, time, logger, job, null, $"backup {Path.GetFileName(bad.Path)} failed verification: {bad.Problems[0]}").ConfigureAwait(false);
            }
        }
    }

    private static async Task SendAsync(ILogger logger, JobConfig job, Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            using var response = await send().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogAlertFailed(logger, job.Name, $"answered {(int)response.StatusCode}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            LogAlertFailed(logger, job.Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: alert not delivered: {Error}")]
    private static partial void LogAlertFailed(ILogger logger, string job, string error);
}

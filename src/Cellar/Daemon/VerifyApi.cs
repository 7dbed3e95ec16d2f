using System.ComponentModel;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Verification;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cellar.Daemon;

/// <summary>The full check of one backup on request (the dashboard's "Verify"), as <c>cellar verify FILE</c> runs it.</summary>
internal static class VerifyApi
{
    /// <summary>
    /// Runs the full check of one of a job's backups now and answers what it found; the check is recorded in the job
    /// folder's ledger, as the daemon's own are, so the backup list and the status show it. Counts against the
    /// triggers' rate limit: a check reads and expands the whole backup.
    /// </summary>
    /// <response code="200">The check ran: the backup passed, or the problems it found.</response>
    /// <response code="404">No such job, or no backup of that name in the job's folder.</response>
    /// <response code="429">More than 60 triggers and checks in a minute; Retry-After says when to try again.</response>
    /// <response code="503">Cellar is shutting down, or no admin token is configured.</response>
    public static async Task<Results<Ok<VerifyAnswer>, Problem<Status404NotFound>, Problem<Status429TooManyRequests>>> VerifyAsync(
        [Description("the job's name in the config")] string job,
        [Description("the backup's file name, as the backup list names it")] string file,
        HttpRequest request, CellarConfig config, TimeProvider time, TriggerLimit limit)
    {
        if (!JobRoute.TryFind(config, job, out var owner, out var missing))
        {
            return missing;
        }

        // Only a name the job's own list holds is ever turned into a path: nothing the caller sends reaches the disk.
        if (BackupCatalog.List(owner, config.TimeZone).FirstOrDefault(e => e.Name == file) is not { } backup)
        {
            return new Problem<Status404NotFound>($"job '{owner.Name}' has no backup of that name", title: "no such backup");
        }

        if (limit.Spend(request.HttpContext.Response) is { } spent)
        {
            return spent;
        }

        var result = await BackupVerifier.VerifyAsync(backup.Path, owner, time, null, null, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(new VerifyAnswer(backup.Name, result.Ok, result.Problems));
    }
}

using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Scheduling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cellar.Daemon;

// What a trigger answers: a refusal before anything is queued, the queued run, or with ?wait=true the run's outcome.
// Results<...> holds six answers at most, so the refusals nest (spelled twice: an alias cannot name another).
using Refusal = Results<Problem<Status400BadRequest>, Problem<Status404NotFound>, Problem<Status429TooManyRequests>, Problem<Status503ServiceUnavailable>>;
using Triggered = Results<Accepted<RunAnswer>, Ok<TriggerAnswer>, Json<TriggerAnswer, Status500InternalServerError>,
    Results<Problem<Status400BadRequest>, Problem<Status404NotFound>, Problem<Status429TooManyRequests>, Problem<Status503ServiceUnavailable>>>;

/// <summary>
/// The admin API under <c>/api/admin</c> (bearer token required): the seed's routes (<c>backup-on-gallery-add</c>,
/// <c>trigger-backup</c>, <c>backup-status</c>) done safely, plus any job, runs and the backup list. Triggers queue a
/// run and answer 202 with its id and Location, or with <c>?wait=true</c> 200 with the file (500 with the error); a
/// backup's full check runs on request (<see cref="VerifyApi"/>).
/// Each handler's XML comment is its description in the OpenAPI document.
/// </summary>
internal static class AdminApi
{
    private const string WaitText = "true: answer when the run is over, with its file or error";

    public static void MapAdminApi(this IEndpointRouteBuilder routes, BearerToken token)
    {
        var admin = routes.MapGroup("/api/admin").RequireAdminToken(token).WithTags("admin");
        admin.MapPost("/backup-on-gallery-add", GalleryAddedAsync).ReadsBody()
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = TagInput.GalleryBody;
                return Task.CompletedTask;
            });
        admin.MapPost("/trigger-backup", TriggerDailyAsync);
        admin.MapPost("/jobs/{job}", TriggerJobAsync);
        admin.MapPost("/jobs/{job}/verify", VerifyApi.VerifyAsync);
        admin.MapGet("/jobs/{job}/offsite-lag", OffsiteLagApi.Lag);
        admin.MapGet("/runs/{id:guid}", Run);
        admin.MapGet("/backups", Backups);
        admin.MapGet("/backup-status", Status);
    }

    /// <summary>Queues a backup of the gallery job, tagged with the gallery name; the body is <c>{"galleryName": "..."}</c>.</summary>
    /// <response code="400">The body is not <c>{"galleryName": "..."}</c>, or the name is not allowed.</response>
    /// <inheritdoc cref="TriggerJobAsync" path="/response[@code!='400']"/>
    public static async Task<Triggered> GalleryAddedAsync(HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, [Description(WaitText)] bool? wait)
    {
        var name = await TagInput.GalleryNameAsync(request).ConfigureAwait(false);
        if (name.Problem is { } problem)
        {
            return (Refusal)new Problem<Status400BadRequest>(problem, "bad gallery name");
        }

        return await TriggerAsync(config, dispatcher, limit, "gallery", name.Value, wait ?? false, request.HttpContext).ConfigureAwait(false);
    }

    /// <summary>Queues a backup of the daily job.</summary>
    /// <response code="400">The daily job's file names need a tag: trigger it with <c>/jobs/daily?tag=</c>.</response>
    /// <inheritdoc cref="TriggerJobAsync" path="/response[@code!='400']"/>
    public static Task<Triggered> TriggerDailyAsync(HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, [Description(WaitText)] bool? wait) =>
        TriggerAsync(config, dispatcher, limit, "daily", null, wait ?? false, request.HttpContext);

    /// <summary>Queues a run of any job.</summary>
    /// <response code="202">Queued, or folded into the job's run that is still waiting (<c>coalesced</c>); Location names the run.</response>
    /// <response code="200">With <c>?wait=true</c>: the run wrote this file.</response>
    /// <response code="500">With <c>?wait=true</c>: the run failed, with this error.</response>
    /// <response code="400">The tag is not allowed, or the job's file names need one.</response>
    /// <response code="404">No such job.</response>
    /// <response code="429">More than 60 triggers in a minute; Retry-After says when to try again.</response>
    /// <response code="503">Cellar is shutting down, or no admin token is configured.</response>
    public static Task<Triggered> TriggerJobAsync(
        [Description("the job's name in the config")] string job,
        [Description("the tag its file names hold, for a job whose file names have {tag}")] string? tag,
        [Description(WaitText)] bool? wait,
        HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit)
    {
        if (tag is not null && (QueryText.IsText(request, "tag") ? TagInput.Problem(tag) : $"the tag is {Slug.NotValidText}") is { } problem)
        {
            return Task.FromResult<Triggered>((Refusal)new Problem<Status400BadRequest>(problem, "bad tag"));
        }

        return TriggerAsync(config, dispatcher, limit, job, tag, wait ?? false, request.HttpContext);
    }

    /// <summary>A run: queued, running, succeeded or failed, with its file or error.</summary>
    /// <response code="404">No such run, or too old to be remembered.</response>
    public static Results<Ok<RunAnswer>, Problem<Status404NotFound>> Run(Guid id, JobDispatcher dispatcher) =>
        dispatcher.Find(id) is { } run
            ? TypedResults.Ok(RunBody(run))
            : new Problem<Status404NotFound>($"no run {id} (unknown, or too old to be remembered)");

    /// <summary>The stored backups, of every job or of one.</summary>
    /// <response code="404">No such job.</response>
    public static Results<Ok<IEnumerable<BackupAnswer>>, Problem<Status404NotFound>> Backups([Description("only this job's backups")] string? job, CellarConfig config, TimeProvider time)
    {
        try
        {
            var jobs = job is null ? config.Jobs : [config.FindJob(job)];
            var confirmations = new OffsiteSync(config, time, NullLogger.Instance).Confirmations();
            return TypedResults.Ok(jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone).Select(e => BackupAnswer.Of(e, j.QualifiedName(config), confirmations))));
        }
        catch (ConfigException e)
        {
            return new Problem<Status404NotFound>(e.Message);
        }
    }

    /// <summary>Every job's status, and whether the backups are healthy (with the reasons when they are not).</summary>
    public static Ok<StatusAnswer> Status(CellarConfig config, TimeProvider time) => TypedResults.Ok(BackupHealth.Of(config, time));

    private static async Task<Triggered> TriggerAsync(CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, string jobName, string? tag, bool wait, HttpContext http)
    {
        var aborted = http.RequestAborted;
        if (!TryEnqueue(config, dispatcher, limit, jobName, tag, http.Response, out var run, out var coalesced, out var refusal))
        {
            return refusal;
        }

        var location = $"/api/admin/runs/{run.Id}";
        if (!wait)
        {
            return TypedResults.Accepted(location, RunBody(run) with { Coalesced = coalesced });
        }

        try
        {
            var outcome = await run.Outcome.Task.WaitAsync(aborted).ConfigureAwait(false);
            return TypedResults.Ok(new TriggerAnswer(true, run.Id, outcome.Path, outcome.Sidecar?.SizeBytes, outcome.Sidecar?.DurationMs));
        }
        catch (Exception e) when (e is not OperationCanceledException || !aborted.IsCancellationRequested)
        {
            return new Json<TriggerAnswer, Status500InternalServerError>(
                new TriggerAnswer(false, run.Id, Error: e is OperationCanceledException ? "cancelled" : e.Message), DaemonJson.Default.TriggerAnswer);
        }
    }

    /// <summary>Queues the run, or says why not: then nothing is queued, and a request refused for what it is spends no trigger permit.</summary>
    private static bool TryEnqueue(
        CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, string jobName, string? tag, HttpResponse response,
        [NotNullWhen(true)] out QueuedRun? run, out bool coalesced, [NotNullWhen(false)] out Refusal? refusal)
    {
        (run, coalesced, refusal) = (null, false, null);
        try
        {
            var job = config.FindJob(jobName);
            if (tag is null && job.FileName.HasTag)
            {
                refusal = new Problem<Status400BadRequest>($"job '{job.Name}' puts a tag in its file names; give one");
            }
            else if (limit.Spend(response) is { } spent)
            {
                refusal = spent;
            }
            else
            {
                run = dispatcher.Enqueue(job, tag, out coalesced);
            }
        }
        catch (ConfigException e)
        {
            refusal = new Problem<Status404NotFound>(e.Message);
        }
        catch (CellarException e)
        {
            refusal = new Problem<Status503ServiceUnavailable>(e.Message);
        }

        return run is not null;
    }

    private static RunAnswer RunBody(QueuedRun run)
    {
        var outcome = run.Outcome.Task;
        return new RunAnswer(
            run.Id, run.Job.Name, run.Tag, run.State,
            outcome.IsCompletedSuccessfully ? outcome.Result.Path : null,
            outcome.IsFaulted ? outcome.Exception!.InnerException!.Message : null,
            Coalesced: false);
    }
}

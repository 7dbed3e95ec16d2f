using System.Text.Json;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Scheduling;
using Cellar.Core.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cellar.Daemon;

/// <summary>
/// The admin API under <c>/api/admin</c> (bearer token required): the seed's routes (<c>backup-on-gallery-add</c>,
/// <c>trigger-backup</c>, <c>backup-status</c>) done safely, plus any job, runs and the backup list. Triggers queue a
/// run and answer 202 with its id and Location, or with <c>?wait=true</c> 200 with the file (500 with the error).
/// </summary>
internal static class AdminEndpoints
{
    // Characters a gallery name is refused for, beyond Slug's rules: a path separator or shell syntax in a name is
    // either a mistake or an attack, and either way it must never look accepted.
    private static readonly System.Buffers.SearchValues<char> Refused = System.Buffers.SearchValues.Create("/\\$`;|<>\"\0");

    public static void Map(WebApplication app, BearerToken token)
    {
        var admin = app.MapGroup("/api/admin").AddEndpointFilter(async (context, next) =>
        {
            if (!token.Configured)
            {
                return Results.Problem("the admin API is off: set apiTokenFile in the config or CELLAR_API_TOKEN in the environment", statusCode: 503, title: "no token configured");
            }

            if (!token.Accepts(context.HttpContext.Request.Headers.Authorization))
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Problem("a valid bearer token is required", statusCode: 401, title: "unauthorized");
            }

            return await next(context).ConfigureAwait(false);
        });

        admin.MapPost("/backup-on-gallery-add", async (HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, bool? wait) =>
        {
            var name = await GalleryNameAsync(request).ConfigureAwait(false);
            if (name.Problem is { } problem)
            {
                return Results.Problem(problem, statusCode: 400, title: "bad gallery name");
            }

            return await TriggerAsync(config, dispatcher, limit, "gallery", name.Value, wait ?? false, request.HttpContext).ConfigureAwait(false);
        });

        admin.MapPost("/trigger-backup", (HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, bool? wait) =>
            TriggerAsync(config, dispatcher, limit, "daily", null, wait ?? false, request.HttpContext));

        admin.MapPost("/jobs/{job}", (string job, string? tag, HttpRequest request, CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, bool? wait) =>
        {
            if (tag is not null && (QueryText.IsText(request, "tag") ? TagProblem(tag) : $"the tag is {Slug.NotValidText}") is { } problem)
            {
                return Task.FromResult(Results.Problem(problem, statusCode: 400, title: "bad tag"));
            }

            return TriggerAsync(config, dispatcher, limit, job, tag, wait ?? false, request.HttpContext);
        });

        admin.MapGet("/runs/{id:guid}", (Guid id, JobDispatcher dispatcher) =>
            dispatcher.Find(id) is { } run ? Results.Ok(RunBody(run)) : Results.Problem($"no run {id} (unknown, or too old to be remembered)", statusCode: 404));

        admin.MapGet("/backups", (string? job, CellarConfig config) =>
        {
            try
            {
                var jobs = job is null ? config.Jobs : [config.FindJob(job)];
                return Results.Ok(jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone).Select(e => BackupAnswer.Of(e, j.QualifiedName(config)))));
            }
            catch (ConfigException e)
            {
                return Results.Problem(e.Message, statusCode: 404);
            }
        });

        admin.MapGet("/backup-status", (CellarConfig config, TimeProvider time) => Results.Ok(BackupHealth.Of(config, time)));
    }

    private static async Task<IResult> TriggerAsync(CellarConfig config, JobDispatcher dispatcher, TriggerLimit limit, string jobName, string? tag, bool wait, HttpContext http)
    {
        var aborted = http.RequestAborted;
        QueuedRun run;
        bool coalesced;
        try
        {
            var job = config.FindJob(jobName);
            if (tag is null && job.FileName.HasTag)
            {
                return Results.Problem($"job '{job.Name}' puts a tag in its file names; give one", statusCode: 400);
            }

            if (limit.Spend(http.Response) is { } refused)
            {
                return refused;
            }

            run = dispatcher.Enqueue(job, tag, out coalesced);
        }
        catch (ConfigException e)
        {
            return Results.Problem(e.Message, statusCode: 404);
        }
        catch (CellarException e)
        {
            return Results.Problem(e.Message, statusCode: 503);
        }

        var location = $"/api/admin/runs/{run.Id}";
        if (!wait)
        {
            return Results.Accepted(location, RunBody(run) with { Coalesced = coalesced });
        }

        try
        {
            var outcome = await run.Outcome.Task.WaitAsync(aborted).ConfigureAwait(false);
            return Results.Ok(new TriggerAnswer(true, run.Id, outcome.Path, outcome.Sidecar?.SizeBytes, outcome.Sidecar?.DurationMs));
        }
        catch (Exception e) when (e is not OperationCanceledException || !aborted.IsCancellationRequested)
        {
            return Results.Json(new TriggerAnswer(false, run.Id, Error: e is OperationCanceledException ? "cancelled" : e.Message), DaemonJson.Default.TriggerAnswer, statusCode: 500);
        }
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

    private static async Task<(string? Value, string? Problem)> GalleryNameAsync(HttpRequest request)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (body.RootElement.ValueKind != JsonValueKind.Object
                || !body.RootElement.TryGetProperty("galleryName", out var value) || value.ValueKind != JsonValueKind.String)
            {
                return (null, "the body must be {\"galleryName\": \"...\"}");
            }

            string name;
            try
            {
                name = value.GetString()!;
            }
            catch (InvalidOperationException)
            {
                // GetString refuses an escaped lone surrogate ("\ud800") and bytes that are not UTF-8: the caller's text.
                return (null, $"galleryName is {Slug.NotValidText}");
            }

            return (name, TagProblem(name));
        }
        catch (JsonException)
        {
            return (null, "the body must be JSON: {\"galleryName\": \"...\"}");
        }
    }

    private static string? TagProblem(string tag) =>
        Slug.Problem(tag) ?? (tag.AsSpan().IndexOfAny(Refused) >= 0 || tag.Contains("..", StringComparison.Ordinal)
            ? "the name contains a character that is not allowed in a name: / \\ $ ` ; | < > \" or .."
            : null);
}

/// <summary>A run as the API shows it.</summary>
internal sealed record RunAnswer(Guid Id, string Job, string? Tag, string Status, string? File, string? Error, bool Coalesced);

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary>
/// A request the server refuses while a route reads it (a body over <see cref="MaxBodyBytes"/>: 413; a body cut off)
/// is the caller's mistake: it gets a ProblemDetails answer with that status, and the log gets no stack trace.
/// Unhandled, Kestrel would log it as an application error, stack and all.
/// </summary>
internal static class BadRequests
{
    /// <summary>The largest request body read: the API's bodies are a gallery name of at most 256 characters.</summary>
    public const long MaxBodyBytes = 64 << 10;

    /// <summary>Lists, for a route that reads the body, the 413 this gives when the body is too large.</summary>
    public static RouteHandlerBuilder ReadsBody(this RouteHandlerBuilder route) =>
        route.ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    public static void Use(WebApplication app) =>
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                await Results.Problem(e.Message, statusCode: e.StatusCode, title: "bad request").ExecuteAsync(context).ConfigureAwait(false);
            }
        });
}

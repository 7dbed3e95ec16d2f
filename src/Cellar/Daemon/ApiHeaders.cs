using Microsoft.AspNetCore.Builder;

namespace Cellar.Daemon;

/// <summary>
/// Headers on every answer: <c>X-Content-Type-Options: nosniff</c>, so a browser never runs an answer as something
/// other than what it says it is (a problem text echoes what the caller sent), and <c>Cache-Control: no-store</c>,
/// so no proxy or browser keeps a copy of a status or a backup list.
/// </summary>
internal static class ApiHeaders
{
    public static void Use(WebApplication app) =>
        app.Use((context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.CacheControl = "no-store";
            return next(context);
        });
}

using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary>
/// At most <see cref="PerMinute"/> triggers a minute, in total: enough for any app, too few for a runaway loop to fill
/// the disk. A fixed-window limiter used as an endpoint filter, not ASP.NET Core's rate-limiting middleware: the
/// middleware's partitioned limiter ticks every 100 ms for as long as the process lives, which was most of the idle
/// daemon's CPU; this limiter's only timer fires once per window.
/// </summary>
internal sealed class TriggerLimit : IEndpointFilter, IDisposable
{
    public const int PerMinute = 60;

    private readonly FixedWindowRateLimiter _limiter = new(new FixedWindowRateLimiterOptions
    {
        PermitLimit = PerMinute,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    });

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        using var lease = _limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            context.HttpContext.Response.Headers.RetryAfter = "60";
            return Results.Problem($"more than {PerMinute} triggers in a minute; try again later", statusCode: StatusCodes.Status429TooManyRequests, title: "too many triggers");
        }

        return await next(context).ConfigureAwait(false);
    }

    public void Dispose() => _limiter.Dispose();
}

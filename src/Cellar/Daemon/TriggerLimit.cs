using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary>
/// At most <see cref="PerMinute"/> triggers a minute, in total: enough for any app, too few for a runaway loop to fill
/// the disk. Spent only by a trigger that is about to queue a run: a request refused for what it is (unknown job, bad
/// name, body too large) cannot fill a disk, and must not lock the app's real triggers out. A fixed-window limiter,
/// not ASP.NET Core's rate-limiting middleware: the middleware's partitioned limiter ticks every 100 ms for as long as
/// the process lives, which was most of the idle daemon's CPU; this limiter's only timer fires once per window.
/// </summary>
internal sealed class TriggerLimit : IDisposable
{
    public const int PerMinute = 60;

    private readonly FixedWindowRateLimiter _limiter = new(new FixedWindowRateLimiterOptions
    {
        PermitLimit = PerMinute,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    });

    /// <summary>Spends a permit; when none is left, the 429 answer (with its Retry-After) instead.</summary>
    public Problem<Status429TooManyRequests>? Spend(HttpResponse response)
    {
        using var lease = _limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return null;
        }

        response.Headers.RetryAfter = "60";
        return new($"more than {PerMinute} triggers in a minute; try again later", title: "too many triggers");
    }

    public void Dispose() => _limiter.Dispose();
}

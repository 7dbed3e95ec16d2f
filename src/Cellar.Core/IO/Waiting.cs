using Microsoft.Extensions.Logging;

namespace Cellar.Core.IO;

/// <summary>
/// Waiting for something another process holds (a backup folder's lock, a restore's folder, a writer's database
/// lock) is done one way: quietly for a second, then one notice saying what is waited for and for how long at most,
/// then one line when that time is up. The notice is a log event named <see cref="EventName"/>, which the CLI shows
/// on stderr: a run stuck behind the daemon never just hangs in silence.
/// </summary>
internal static partial class Waiting
{
    /// <summary>The event id of the notice.</summary>
    public const int EventId = 900;

    /// <summary>The event name of the notice, which the CLI shows on stderr.</summary>
    public const string EventName = "Waiting";

    /// <summary>How long a wait stays silent.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Calls <paramref name="attempt"/> every 200 ms until it returns what it took (null while another holds it), for
    /// at most <paramref name="limit"/>; then throws what <paramref name="gaveUp"/> makes of the limit as spoken.
    /// </summary>
    public static async Task<T> ForAsync<T>(Func<T?> attempt, TimeSpan limit, Func<string> what, Func<string, Exception> gaveUp, TimeProvider time, ILogger? notices, CancellationToken cancellationToken)
        where T : class
    {
        var started = time.GetTimestamp();
        var told = false;
        while (true)
        {
            if (attempt() is { } taken)
            {
                return taken;
            }

            var waited = time.GetElapsedTime(started);
            if (waited >= limit)
            {
                throw gaveUp(Spoken(limit));
            }

            if (!told && notices is not null && waited >= Quiet)
            {
                told = true;
                Notice(notices, what(), limit);
            }

            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Says, once, what a wait is for and how long it lasts at most.</summary>
    public static void Notice(ILogger notices, string what, TimeSpan limit)
    {
        var spoken = Spoken(limit);
        LogWaiting(notices, what, spoken);
    }

    /// <summary>A span as people say it: "30 min", "60 s".</summary>
    public static string Spoken(TimeSpan span) => span >= TimeSpan.FromMinutes(2) ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    [LoggerMessage(EventId = EventId, EventName = EventName, Level = LogLevel.Information, Message = "waiting for {What}; giving up after {Limit}")]
    private static partial void LogWaiting(ILogger logger, string what, string limit);
}

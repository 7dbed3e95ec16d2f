using System.ComponentModel;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cellar.Daemon;

/// <summary>How far behind each destination's copy of a stream has been, for the dashboard's plot.</summary>
internal static class OffsiteLagApi
{
    /// <summary>At most this many points per destination: a week of minutes is thinned to each stretch's worst.</summary>
    private const int MostPoints = 720;

    /// <summary>
    /// A stream job's offsite lag over the last week, per destination that takes it: minute by minute (or, over a long
    /// stretch, each stretch's worst), how long the oldest transaction waiting for the destination had waited.
    /// </summary>
    /// <response code="404">No such job, or the job is not a stream (its backups' offsite copies are in the backup list).</response>
    public static Results<Ok<IEnumerable<LagAnswer>>, Problem<Status404NotFound>> Lag([Description("the stream job's name in the config")] string job, CellarConfig config, TimeProvider time)
    {
        if (!JobRoute.TryFind(config, job, out var found, out var missing))
        {
            return missing;
        }

        if (found is not StreamJob stream)
        {
            return new Problem<Status404NotFound>($"job '{found.Name}' is not a stream; its backups' offsite copies are in the backup list", title: "not a stream");
        }

        var since = time.GetUtcNow() - StreamLag.Keep;
        return TypedResults.Ok(stream.Database.Offsite.Where(d => d.Takes(stream))
            .Select(d => new LagAnswer(d.Name, StreamLag.Read(StreamLag.PathOf(stream, d), since, MostPoints))));
    }
}

/// <summary>One destination's lag over time.</summary>
/// <param name="Destination">The destination's name.</param>
/// <param name="Points">Oldest first: the minute, and how long the oldest transaction waiting for the destination had waited then, at worst.</param>
internal sealed record LagAnswer(string Destination, IReadOnlyList<LagPoint> Points);

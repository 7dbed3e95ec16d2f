using System.Diagnostics.CodeAnalysis;
using Cellar.Core;
using Cellar.Core.Configuration;

namespace Cellar.Daemon;

/// <summary>The job a route's <c>{job}</c> names, or the 404 that says there is none.</summary>
internal static class JobRoute
{
    /// <summary>Finds the job <paramref name="name"/>; false with the 404 to answer when the config has none of that name.</summary>
    public static bool TryFind(CellarConfig config, string name, [NotNullWhen(true)] out JobConfig? job, [NotNullWhen(false)] out Problem<Status404NotFound>? missing)
    {
        try
        {
            (job, missing) = (config.FindJob(name), null);
            return true;
        }
        catch (ConfigException e)
        {
            (job, missing) = (null, new Problem<Status404NotFound>(e.Message));
            return false;
        }
    }
}

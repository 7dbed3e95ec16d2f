using Cellar.Core.Configuration;
using Cellar.Core.Retention;

namespace Cellar.Core.Offsite;

/// <summary>Retention's hold for offsite copies: a backup stays while a destination that wants it has no confirmed copy.</summary>
public sealed class OffsiteHold : IRetentionHold
{
    /// <summary>The one instance: it reads the ledgers afresh at every prune.</summary>
    public static readonly OffsiteHold Instance = new();

    private OffsiteHold()
    {
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, List<string>> Waiting(JobConfig job, TimeZoneInfo zone, DateTimeOffset now) => OffsiteSync.Unconfirmed(job, zone, now);
}

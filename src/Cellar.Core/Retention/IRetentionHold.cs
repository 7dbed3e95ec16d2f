using Cellar.Core.Configuration;

namespace Cellar.Core.Retention;

/// <summary>
/// What keeps a backup past its job's retention: somewhere that still waits for a copy of it (an offsite destination
/// without a confirmed copy). Retention asks; who holds is not its business, so it depends on no one who does.
/// </summary>
public interface IRetentionHold
{
    /// <summary>
    /// For each of <paramref name="job"/>'s backups (by path) still waited for, who waits. Throws
    /// <see cref="CellarException"/> when that cannot be told: retention then keeps every backup it would delete.
    /// </summary>
    IReadOnlyDictionary<string, List<string>> Waiting(JobConfig job, TimeZoneInfo zone, DateTimeOffset now);
}

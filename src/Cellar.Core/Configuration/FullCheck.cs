namespace Cellar.Core.Configuration;

/// <summary>
/// When a snapshot or a dump gets its full check (<c>integrity_check</c> and <c>foreign_key_check</c>; a dump's load
/// drill). Either way a backup takes its name only after the quick proof: it decompresses to exactly what was taken,
/// and a snapshot passes <c>quick_check</c> with its row counts.
/// </summary>
public enum FullCheck
{
    /// <summary>After the backup is published: by the daemon soon after the run, at low priority, and at the latest in the daily verify pass; by <c>cellar verify</c> at once.</summary>
    Deferred,

    /// <summary>Before the backup takes its name, as before there were two stages: the run takes that much longer.</summary>
    Inline,
}

using System.Text.Json.Serialization;

namespace Cellar.Daemon;

/// <summary>The body of <c>GET /api/admin/backup-status</c>.</summary>
internal sealed record StatusAnswer(bool Healthy, IReadOnlyList<string> Reasons, IReadOnlyList<DiskAnswer> Disks, IReadOnlyList<JobAnswer> Jobs, IReadOnlyList<OffsiteAnswer> Offsite);

/// <summary>How far one offsite destination is behind: backups not yet confirmed there, and the oldest one's age.</summary>
internal sealed record OffsiteAnswer(string Database, string Destination, int Pending, double? OldestPendingAgeSeconds);

/// <summary>Free space on one backup volume.</summary>
internal sealed record DiskAnswer(string BackupRoot, long FreeBytes, long TotalBytes);

/// <summary>
/// One job in the status: the database it backs up (as offsite lag names it), its newest backup, how many it keeps, when it runs next, how it last failed, the reasons
/// it is unhealthy (its share of the status's), the offsite destinations that take it, and for a stream the windows
/// it can restore and how far each destination's copy reaches.
/// </summary>
internal sealed record JobAnswer(
    string Job,
    string Database,
    string Type,
    BackupAnswer? Newest,
    double? AgeSeconds,
    int Count,
    long TotalBytes,
    DateTimeOffset? NextRun,
    DateTimeOffset? LastFailure,
    string? LastFailureMessage,
    int AwaitingFullCheck,
    double? LongestFullCheckWaitSeconds,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> OffsiteDestinations,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WindowAnswer>? Restorable,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ReachAnswer>? StreamOffsite);

/// <summary>How far a stream's copy at one offsite destination reaches.</summary>
/// <param name="Destination">The destination's name.</param>
/// <param name="Confirmed">The newest moment confirmed there (null: nothing yet).</param>
/// <param name="OldestPendingAgeSeconds">How long the oldest transaction not yet there has waited (null: none waits).</param>
internal sealed record ReachAnswer(string Destination, DateTimeOffset? Confirmed, double? OldestPendingAgeSeconds);

/// <summary>What one generation of a stream can restore: any moment from <paramref name="From"/> to <paramref name="To"/>.</summary>
/// <param name="Generation">The generation's id.</param>
/// <param name="From">The oldest moment it restores.</param>
/// <param name="To">The newest: the last transaction shipped.</param>
internal sealed record WindowAnswer(string Generation, DateTimeOffset From, DateTimeOffset To);

using System.Diagnostics;
#if DEBUG
using System.Text;
using Microsoft.Win32.SafeHandles;
#endif

namespace Cellar.Core.IO;

/// <summary>
/// Named places between two durability steps (an fsync, a rename, a state file), where a test can stop a separate
/// <c>cellar</c> process as a power cut would. In Debug builds only, <c>CELLAR_CRASH_AT=NAME</c> makes the process say
/// <c>crash point NAME</c> on stderr and SIGKILL itself there (no finally block, no cleanup runs), and
/// <c>CELLAR_PAUSE_AT=NAME</c> makes it SIGSTOP itself there, so a test can send a signal and SIGCONT; the point then
/// holds until the signal has cancelled the work, which goes on from there. Without the hold the signal would still
/// race the work: .NET runs signal handlers on the thread pool, which busy workers can keep waiting longer than the
/// rest of a verification takes (one ran to the end first that way). In a Release build (the shipped binary) every
/// call compiles away: no environment can make it kill or stop itself.
/// </summary>
internal static class CrashPoint
{
    /// <summary>The snapshot copy is whole in its hidden temp file; nothing is compressed yet.</summary>
    public const string SnapshotCopied = "snapshot-copied";

    /// <summary>The compressed file of a backup, dump or log archive is fsynced under its temp name, not yet proven.</summary>
    public const string BackupWritten = "backup-written";

    /// <summary>A backup, dump or log archive is verified under its temp name; its sidecar is not written yet.</summary>
    public const string PublishStart = "publish-start";

    /// <summary>The sidecar has its final name; the file it describes still has its temp name.</summary>
    public const string SidecarWritten = "publish-sidecar-written";

    /// <summary>The file has its final name and the folder is synced; the run that made it has not recorded that yet.</summary>
    public const string Published = "publish-renamed";

    /// <summary>A stored backup is expanded into its temp file (checksum matched), not yet checked by SQLite.</summary>
    public const string VerifyExpanded = "verify-expanded";

    /// <summary>The restore's target has its second name (<c>PATH.pre-restore-…</c>); nothing is moved yet.</summary>
    public const string RestorePreviousKept = "restore-previous-kept";

    /// <summary>The target's <c>-wal</c>/<c>-shm</c>/<c>-journal</c> are moved aside; the swap is not made yet.</summary>
    public const string RestoreCompanionsMoved = "restore-companions-moved";

    /// <summary>The target names the restored database; the folder is not synced yet.</summary>
    public const string RestoreSwapped = "restore-swapped";

    /// <summary>A log's lines are archived and the collapse that cuts them is recorded as pending, not yet made.</summary>
    public const string RotateCollapsePending = "rotate-collapse-pending";

    /// <summary>The log's head is cut; the state does not say so yet.</summary>
    public const string RotateCollapsed = "rotate-collapsed";

    /// <summary>copytruncate: the copy is synced under the rotating name and the truncate recorded as pending, not yet made.</summary>
    public const string RotateCopied = "rotate-copied";

    /// <summary>copytruncate: the live log is truncated; its copy is not archived yet.</summary>
    public const string RotateTruncated = "rotate-truncated";

    /// <summary>signal: the live log is renamed aside; no fresh file has its name yet and the app has not been told.</summary>
    public const string RotateRenamed = "rotate-renamed";

    /// <summary>A run is published and recorded; retention has deleted nothing yet, and the folder's lock is still held.</summary>
    public const string PruneStart = "prune-start";

    /// <summary>Every point, for the tests that must cover each one.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        SnapshotCopied, BackupWritten, PublishStart, SidecarWritten, Published, VerifyExpanded, RestorePreviousKept,
        RestoreCompanionsMoved, RestoreSwapped, RotateCollapsePending, RotateCollapsed, RotateCopied, RotateTruncated,
        RotateRenamed, PruneStart,
    ];

#if DEBUG
    private const int SigKill = 9;
    private const int SigStop = 19;
    private static readonly string? CrashAt = Environment.GetEnvironmentVariable("CELLAR_CRASH_AT");
    private static readonly string? PauseAt = Environment.GetEnvironmentVariable("CELLAR_PAUSE_AT");
    // A minute unless the test says (CELLAR_PAUSE_HOLD_S=0 for one that only looks or changes files while it is stopped).
    private static readonly TimeSpan PauseHold = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("CELLAR_PAUSE_HOLD_S"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 60);
#endif

    /// <summary>
    /// Stops or kills the process here when a test asked for <paramref name="name"/> (Debug builds only); a pause holds,
    /// once continued, until <paramref name="cancellationToken"/> (if it can be) is cancelled, for a minute at most (a
    /// signal sent while stopped is seen here, mid-work), or as long as <c>CELLAR_PAUSE_HOLD_S</c> says.
    /// </summary>
    [Conditional("DEBUG")]
    public static void Reach(string name, CancellationToken cancellationToken = default)
    {
#if DEBUG
        if (name == PauseAt)
        {
            _ = NativeMethods.Kill(Environment.ProcessId, SigStop);
            if (cancellationToken.CanBeCanceled)
            {
                _ = cancellationToken.WaitHandle.WaitOne(PauseHold);
            }
        }

        if (name == CrashAt)
        {
            // Straight to the descriptor: the core knows no console, and nothing may be left in a buffer.
            using (var stderr = new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, 1))
            {
                stderr.Write(Encoding.UTF8.GetBytes($"crash point {name}\n"));
            }

            _ = NativeMethods.Kill(Environment.ProcessId, SigKill);
        }
#endif
    }
}

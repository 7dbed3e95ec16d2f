namespace Cellar.Core.Catalog;

/// <summary>A backup file found in a job's folder.</summary>
/// <param name="Path">Absolute path of the stored file.</param>
/// <param name="Created">When it was made: from the sidecar, else from the name.</param>
/// <param name="SizeBytes">Size on disk.</param>
/// <param name="Sidecar">Its sidecar, or null when missing or unreadable.</param>
/// <param name="SidecarProblem">Why the sidecar could not be used, when it could not.</param>
public sealed record BackupEntry(string Path, DateTimeOffset Created, long SizeBytes, Sidecar? Sidecar, string? SidecarProblem)
{
    /// <summary>The file name.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>The last check of the stored file since it was written (<see cref="CheckLedger"/>), if any.</summary>
    public CheckRecord? LastCheck { get; init; }

    /// <summary>
    /// Passed its restore drill when written, still has the size it had then, and no later check found it bad. Cheap
    /// (no re-hash): restore selection and retention use it to decide which backups are worth having.
    /// </summary>
    public bool LooksGood => Problem is null;

    /// <summary>
    /// Published after its quick proof alone (<see cref="Sidecar.Stage"/> 1), good so far, and no full check has passed
    /// since: the daemon runs it soon after the run, the daily verify pass at the latest, <c>cellar verify</c> at once.
    /// </summary>
    public bool AwaitingFullCheck => Sidecar is { Stage: 1 } && LooksGood && LastCheck is not { Ok: true };

    /// <summary>The verification stage it has passed: 2 (the full check, before or since it was published), 1 (the quick proof alone so far), 0 (not good).</summary>
    public int Stage => !LooksGood ? 0 : AwaitingFullCheck ? 1 : 2;

    /// <summary>Why the backup is not good, in one line; null when it is.</summary>
    public string? Problem =>
        SidecarProblem
        ?? (Sidecar is not { } s ? "sidecar missing"
            : !s.Verified ? "not verified when written"
            : s.SizeBytes != SizeBytes ? $"size is {SizeBytes} bytes, the sidecar says {s.SizeBytes}"
            : LastCheck is { Ok: false } check ? $"failed verification at {check.At:yyyy-MM-dd HH:mm}Z: {check.Problem}"
            : null);
}

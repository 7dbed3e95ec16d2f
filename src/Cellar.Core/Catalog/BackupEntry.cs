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

    /// <summary>
    /// Passed its restore drill when written and still has the size it had then. Cheap (no re-hash): retention
    /// uses it to decide which backups are worth protecting.
    /// </summary>
    public bool LooksGood => Sidecar is { Verified: true } s && s.SizeBytes == SizeBytes;
}

namespace Cellar.Core.IO;

/// <summary>
/// fsync(2) failed: the bytes of <see cref="Path"/> may not be on the disk, whatever reading them back says. The
/// operation that wrote them fails, and what it wrote is deleted or never published.
/// </summary>
public sealed class SyncFailedException : CellarException
{
    internal SyncFailedException(string path, int errno)
        : base($"cannot sync {path} to disk: {UnixFiles.Describe(errno)}; its bytes may not be on the disk, so it is not kept") =>
        (Path, Errno) = (path, errno);

    /// <summary>The file or folder whose sync failed.</summary>
    public string Path { get; }

    /// <summary>The errno fsync returned (EIO, ENOSPC, EDQUOT, ...).</summary>
    public int Errno { get; }
}

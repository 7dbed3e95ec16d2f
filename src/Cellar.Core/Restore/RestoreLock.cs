using Cellar.Core.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Restore;

/// <summary>
/// Serialises restores into one folder. Two at once would break each other: the second sweeps the first one's
/// temp file as a leftover of a killed restore, and both pick the same pre-restore name. The lock is an exclusive
/// flock(2) on the folder itself, opened read-only, so unlike a lock file it creates nothing beside the app's
/// database; the kernel drops it when the process dies, so a killed restore never leaves the folder locked.
/// </summary>
internal sealed partial class RestoreLock : IDisposable
{
    /// <summary>
    /// How long a restore waits for another into the same folder: long enough for that one to verify and swap in a
    /// large database, short enough that a hung one is reported instead of waited for forever.
    /// </summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(30);

    private readonly SafeFileHandle? _folder;

    private RestoreLock(SafeFileHandle? folder) => _folder = folder;

    /// <summary>
    /// Takes the lock on <paramref name="folder"/>, waiting at most <paramref name="wait"/> (default
    /// <see cref="DefaultWait"/>) for another restore to finish, with a <see cref="Waiting"/> notice when it has to wait.
    /// Where the folder cannot be locked at all (a file system without flock), the restore goes on unguarded with a
    /// warning: refusing to restore would be worse than the rare race.
    /// </summary>
    public static Task<RestoreLock> AcquireAsync(string folder, TimeProvider time, ILogger logger, CancellationToken cancellationToken, TimeSpan? wait = null) =>
        Waiting.ForAsync(
            () => TryTake(folder, logger),
            wait ?? DefaultWait,
            () => $"another restore into {folder} ({LockHolder.Of(folder)}) to finish",
            limit => new CellarException($"another restore into {folder} has been running for more than {limit}; giving up, nothing was changed"),
            time,
            logger,
            cancellationToken);

    /// <summary>The lock; an unguarded one where the folder cannot be locked; null while another restore holds it.</summary>
    private static RestoreLock? TryTake(string folder, ILogger logger)
    {
        var errno = UnixFiles.TryLockFolder(folder, out var handle);
        if (errno == 0)
        {
            return new RestoreLock(handle);
        }

        if (UnixFiles.IsHeldByAnother(errno))
        {
            return null;
        }

        LogUnlockable(logger, folder, UnixFiles.Describe(errno));
        return new RestoreLock(null);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _folder?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot lock {Folder} against other restores into it ({Error}); restoring without that guard")]
    private static partial void LogUnlockable(ILogger logger, string folder, string error);
}

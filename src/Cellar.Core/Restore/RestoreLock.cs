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

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    private readonly SafeFileHandle? _folder;

    private RestoreLock(SafeFileHandle? folder) => _folder = folder;

    /// <summary>
    /// Takes the lock on <paramref name="folder"/>, waiting at most <paramref name="wait"/> (default
    /// <see cref="DefaultWait"/>) for another restore to finish; <paramref name="waiting"/> is told once, in a line to
    /// show, when it has to wait. Where the folder cannot be locked at all (a file system without flock), the restore
    /// goes on unguarded with a warning: refusing to restore would be worse than the rare race.
    /// </summary>
    public static async Task<RestoreLock> AcquireAsync(string folder, TimeProvider time, Action<string>? waiting, ILogger logger, CancellationToken cancellationToken, TimeSpan? wait = null)
    {
        var limit = wait ?? DefaultWait;
        var started = time.GetTimestamp();
        var told = false;
        while (true)
        {
            var errno = UnixFiles.TryLockFolder(folder, out var handle);
            if (errno == 0)
            {
                return new RestoreLock(handle);
            }

            if (!UnixFiles.IsHeldByAnother(errno))
            {
                LogUnlockable(logger, folder, UnixFiles.Describe(errno));
                return new RestoreLock(null);
            }

            if (time.GetElapsedTime(started) >= limit)
            {
                throw new CellarException($"another restore into {folder} has been running for more than {Describe(limit)}; giving up, nothing was changed");
            }

            if (!told)
            {
                told = true;
                var line = $"waiting for another restore into {folder} (up to {Describe(limit)})";
                LogWaiting(logger, line);
                waiting?.Invoke(line);
            }

            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _folder?.Dispose();

    private static string Describe(TimeSpan span) => span >= TimeSpan.FromMinutes(1) ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogWaiting(ILogger logger, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot lock {Folder} against other restores into it ({Error}); restoring without that guard")]
    private static partial void LogUnlockable(ILogger logger, string folder, string error);
}

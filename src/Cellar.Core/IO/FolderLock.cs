using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// An exclusive advisory lock on a backup folder, shared by the daemon and every CLI invocation, so two
/// runs never write, prune or sweep the same folder at once: <c>flock(2)</c> on <c>.cellar.lock</c>, which the
/// kernel drops when the process dies, so a crash never leaves the folder locked.
/// </summary>
internal sealed class FolderLock : IDisposable
{
    public const string FileName = ".cellar.lock";
    private const int EWouldBlockLinux = 11;
    private const int EWouldBlockBsd = 35;
    private const int SharingViolationWindows = unchecked((int)0x80070020);
    private readonly SafeFileHandle _handle;

    private FolderLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>
    /// How long a run waits for another to finish with the folder. Long enough for any backup or verification
    /// of a large database; short enough that cron-started runs stuck behind a hung one fail loudly instead of
    /// piling up.
    /// </summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Waits for the lock, polling, for at most <paramref name="wait"/> (default <see cref="DefaultWait"/>);
    /// <paramref name="notices"/> hears what it waits for (which process holds the lock) once it has waited a second.
    /// </summary>
    public static Task<FolderLock> AcquireAsync(string folder, TimeProvider time, CancellationToken cancellationToken, TimeSpan? wait = null, ILogger? notices = null)
    {
        var path = Path.Combine(folder, FileName);
        return Waiting.ForAsync(
            () => TryTake(path),
            wait ?? DefaultWait,
            () => $"another Cellar run ({LockHolder.Of(path)}) to finish in {folder}",
            limit => new CellarException($"another Cellar run ({LockHolder.Of(path)}) has held {path} for more than {limit}; giving up"),
            time,
            notices,
            cancellationToken);
    }

    /// <summary>The lock, or null while another process holds it.</summary>
    private static FolderLock? TryTake(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                return new FolderLock(File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (IsHeldByAnother(e))
            {
                return null;
            }
        }

        // An existing lock file is opened read-only: flock needs no write access, so `cellar verify` still works in a
        // folder on a read-only mount. Never through a link planted under the name, which could make root create or
        // open a file elsewhere.
        var handle = UnixFiles.LStat(path) is not null
            ? UnixFiles.OpenNoFollow(path, NativeMethods.ORdonly)
            : UnixFiles.OpenNoFollow(path, NativeMethods.ORdwr | NativeMethods.OCreat);
        var errno = UnixFiles.TryLock(handle);
        if (errno == 0)
        {
            return new FolderLock(handle);
        }

        handle.Dispose();
        return UnixFiles.IsHeldByAnother(errno) ? null : throw new IOException($"cannot lock {path}: {UnixFiles.Describe(errno)}", errno);
    }

    /// <summary>
    /// Only "another process holds the lock" is worth waiting for (EWOULDBLOCK from flock, a sharing violation on
    /// Windows); any other error, such as a read-only or full file system, would never clear and must fail the run.
    /// </summary>
    internal static bool IsHeldByAnother(IOException e) => e.HResult is EWouldBlockLinux or EWouldBlockBsd or SharingViolationWindows;

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _handle.Dispose();
}

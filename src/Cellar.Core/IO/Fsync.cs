using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// The one way Cellar makes bytes durable: fsync(2), with its result checked. .NET's
/// <c>FileStream.Flush(flushToDisk: true)</c> ignores a failed fsync on Linux (EIO, ENOSPC, EDQUOT), and reading the
/// file back afterwards only reads the page cache, so a backup could be called verified while its bytes never reached
/// the disk. Every durability point (backups, temp files, sidecars, state and ledger files, restored databases, log
/// copies, downloads, folders after a rename) goes through here, and a failure throws
/// <see cref="SyncFailedException"/> naming the file.
/// </summary>
internal static class Fsync
{
    /// <summary>Writes out <paramref name="file"/>'s buffer, then fsyncs it.</summary>
    public static void File(FileStream file)
    {
        file.Flush();
        Handle(file.SafeFileHandle, file.Name);
    }

    /// <summary>Fsyncs an open file; <paramref name="path"/> names it in the error.</summary>
    public static void Handle(SafeFileHandle handle, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var errno = FaultInjection.FsyncError(path);
        if (errno == 0 && NativeMethods.Fsync((int)handle.DangerousGetHandle()) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
        }

        if (errno != 0)
        {
            throw new SyncFailedException(path, errno);
        }
    }

    /// <summary>
    /// Fsyncs a folder, which makes a rename (or a new or deleted name) in it durable: after rename(2) the new
    /// directory entry survives a power loss only once the directory itself is synced.
    /// </summary>
    public static void Directory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return; // Windows has no directory fsync; NTFS journals the rename itself.
        }

        var fd = NativeMethods.Open(path, NativeMethods.ORdonly | NativeMethods.ODirectory | NativeMethods.OCloexec);
        if (fd < 0)
        {
            throw new IOException($"cannot open folder {path} to sync it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        try
        {
            var errno = FaultInjection.FsyncError(path);
            if (errno == 0 && NativeMethods.Fsync(fd) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
            }

            if (errno != 0)
            {
                throw new SyncFailedException(path, errno);
            }
        }
        finally
        {
            NativeMethods.Close(fd);
        }
    }
}

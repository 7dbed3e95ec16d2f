using System.Runtime.InteropServices;

namespace Cellar.Core.IO;

/// <summary>
/// Makes a rename durable: after <c>rename(2)</c> the new directory entry only survives a power loss
/// once the directory itself is fsynced.
/// </summary>
internal static class DirectorySync
{
    public static void Fsync(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return; // Windows has no directory fsync; NTFS journals the rename itself.
        }

        var fd = NativeMethods.Open(directory, NativeMethods.ORdonly | NativeMethods.ODirectory | NativeMethods.OCloexec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {directory}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
        finally
        {
            NativeMethods.Close(fd);
        }
    }
}

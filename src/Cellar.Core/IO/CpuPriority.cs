namespace Cellar.Core.IO;

/// <summary>Lowers Cellar's CPU priority so a backup that keeps every core busy never slows the app's commits.</summary>
internal static class CpuPriority
{
    /// <summary>
    /// Sets the calling thread's niceness. On Linux niceness is per thread and inherited by threads created
    /// afterwards, so calling this first thing on the main thread covers the thread pool that does the work.
    /// Best effort: a container without the permission to change it still backs up.
    /// </summary>
    public static void Lower(int nice)
    {
        if (nice > 0 && OperatingSystem.IsLinux())
        {
            _ = NativeMethods.SetPriority(NativeMethods.PrioProcess, 0, nice);
        }
    }
}

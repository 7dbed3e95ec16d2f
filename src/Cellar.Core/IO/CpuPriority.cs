namespace Cellar.Core.IO;

/// <summary>Lowers Cellar's CPU priority so a backup that keeps every core busy never slows the app's commits.</summary>
internal static class CpuPriority
{
    /// <summary>How many steps of niceness below the rest of Cellar its heavy work runs (at most 19).</summary>
    public const int HeavyWorkStep = 5;

    private static int s_heavyWork = HeavyWorkStep;

    /// <summary>
    /// Sets the calling thread's niceness. On Linux niceness is per thread and inherited by threads created
    /// afterwards, so calling this first thing on the main thread covers the thread pool that does the work.
    /// Best effort: a container without the permission to change it still backs up.
    /// </summary>
    public static void Lower(int nice)
    {
        s_heavyWork = Math.Min(19, nice + HeavyWorkStep);
        if (nice > 0 && OperatingSystem.IsLinux())
        {
            _ = NativeMethods.SetPriority(NativeMethods.PrioProcess, 0, nice);
        }
    }

    /// <summary>
    /// Lowers the calling thread <see cref="HeavyWorkStep"/> steps below <see cref="Lower"/>'s niceness (never higher
    /// than it already is), for a thread that compresses, proves or checks and then ends (<see cref="OwnThread"/>): the
    /// scheduler then runs the daemon's request threads, asleep until a request comes, as soon as they wake instead
    /// of after a slice of that work (docs/BENCHMARKS.md, "Daemon footprint"). Only ever lowered: a thread may not take
    /// niceness back without a privilege Cellar does not ask for.
    /// </summary>
    public static void LowerForHeavyWork()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = NativeMethods.SetPriority(NativeMethods.PrioProcess, 0, Math.Max(s_heavyWork, NativeMethods.GetPriority(NativeMethods.PrioProcess, 0)));
        }
    }
}

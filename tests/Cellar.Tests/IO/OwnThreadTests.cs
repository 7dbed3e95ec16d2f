using System.Globalization;
using Cellar.Core.IO;
using Xunit;

namespace Cellar.Tests.IO;

/// <summary>A backup's heavy work runs on a thread of its own, below the rest of Cellar, and hands back what it made or how it failed.</summary>
public sealed class OwnThreadTests
{
    [Fact]
    public async Task Heavy_work_runs_off_the_thread_pool_five_steps_below_cellar_and_its_failure_is_the_tasks()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "niceness per thread is Linux's");
        var ct = TestContext.Current.CancellationToken;
        CpuPriority.Lower(0); // Cellar at the app's priority: its heavy work at 5
        var caller = Nice();
        var callerThread = File.ResolveLinkTarget("/proc/thread-self", returnFinalTarget: false)!.Name;

        var (nice, pooled) = await OwnThread.Run(() => (Nice(), Thread.CurrentThread.IsThreadPoolThread), ct);

        Assert.False(pooled);
        Assert.Equal(Math.Max(caller, CpuPriority.HeavyWorkStep), nice);

        // The caller's own thread keeps its priority (what follows the await may run on another thread: the heavy one).
        Assert.Equal(caller, Nice($"/proc/self/task/{callerThread}/stat"));
        var failed = OwnThread.Run(() => throw new InvalidDataException("block 7 does not prove"), ct);
        Assert.Equal("block 7 does not prove", (await Assert.ThrowsAsync<InvalidDataException>(() => failed)).Message);
    }

    /// <summary>A thread's niceness (the calling thread's by default), field 19 of its stat file.</summary>
    private static int Nice(string stat = "/proc/thread-self/stat") =>
        int.Parse(File.ReadAllText(stat).Split(')')[^1].Split(' ')[17], CultureInfo.InvariantCulture);
}

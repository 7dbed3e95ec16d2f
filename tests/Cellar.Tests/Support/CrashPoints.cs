using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Cellar.Tests.Support;

/// <summary>
/// Driving <c>Cellar.Core.IO.CrashPoint</c> in a child <c>cellar</c> process: <c>CELLAR_CRASH_AT</c> kills it at a named
/// point, <c>CELLAR_PAUSE_AT</c> stops it there. Both are compiled into Debug builds of cellar.dll only, the build the
/// tests run.
/// </summary>
internal static class CrashPoints
{
    /// <summary>The shell's exit code of a process killed by SIGKILL.</summary>
    public const int KilledBySigkill = 128 + 9;

    private const int SigCont = 18;

#if DEBUG
    private const bool Honoured = true;
#else
    private const bool Honoured = false;
#endif

    /// <summary>Skips the test in a Release build, where cellar ignores both variables.</summary>
    public static void SkipUnlessHonoured() => Assert.SkipUnless(Honoured, "crash and pause points are compiled into Debug builds of cellar only");

    /// <summary>The environment that makes cellar kill itself at <paramref name="point"/>.</summary>
    public static Dictionary<string, string> CrashAt(string point) => new() { ["CELLAR_CRASH_AT"] = point };

    /// <summary>
    /// The environment that makes cellar stop itself (SIGSTOP) at <paramref name="point"/>; once continued it waits there
    /// for a cancelling signal a minute at most, or, without <paramref name="hold"/>, a second. Never less: the thread that
    /// sends itself SIGSTOP can run on a little before the whole process stops, and the wait keeps it at the point.
    /// </summary>
    public static Dictionary<string, string> PauseAt(string point, bool hold = true) =>
        hold ? new() { ["CELLAR_PAUSE_AT"] = point } : new() { ["CELLAR_PAUSE_AT"] = point, ["CELLAR_PAUSE_HOLD_S"] = "1" };

    /// <summary>Asserts that the run died by SIGKILL after saying it reached <paramref name="point"/>.</summary>
    public static void AssertKilledAt(CellarRun run, string point)
    {
        Assert.True(run.ExitCode == KilledBySigkill, $"expected death by SIGKILL (exit {KilledBySigkill}) at {point}: {run}");
        Assert.True(run.StderrLines.LastOrDefault() == $"crash point {point}", $"the run was not killed at {point}: {run}");
    }

    /// <summary>
    /// Waits until <paramref name="process"/> has stopped itself at its pause point (state <c>T</c> in
    /// <c>/proc/PID/stat</c>); fails if it exits first or takes longer than <paramref name="timeout"/>.
    /// </summary>
    public static async Task WaitUntilPausedAsync(Process process, Task<string> stderr, TimeSpan timeout, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (State(process.Id) != 'T')
        {
            if (process.HasExited)
            {
                Assert.Fail($"cellar exited ({process.ExitCode}) before reaching its pause point: {await stderr}");
            }

            Assert.True(waited.Elapsed < timeout, $"cellar did not reach its pause point within {timeout.TotalSeconds} s");
            await Task.Delay(5, ct);
        }
    }

    /// <summary>
    /// Runs cellar with <paramref name="args"/> until it stops itself at <paramref name="point"/>, does
    /// <paramref name="whilePaused"/> (look at what it left, send it a signal), lets it go on and waits a minute at most
    /// for it to end. A cellar left stopped behind a failed assertion is killed.
    /// </summary>
    public static async Task<CellarRun> RunPausedAsync(string[] args, string point, Action<Process> whilePaused, bool hold = true)
    {
        SkipUnlessHonoured();
        var ct = TestContext.Current.CancellationToken;
        using var process = CellarProcess.Start(args, PauseAt(point, hold));
        try
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await WaitUntilPausedAsync(process, stderr, TimeSpan.FromSeconds(60), ct);
            whilePaused(process);
            Resume(process);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return new CellarRun(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>Lets a paused process go on; a signal sent while it was stopped is delivered now, mid-work.</summary>
    public static void Resume(Process process) => Signal(process, SigCont);

    public static void Signal(Process process, int number) =>
        Assert.True(Cellar.Core.IO.NativeMethods.Kill(process.Id, number) == 0, $"kill -{number} {process.Id} failed");

    /// <summary>The state letter of a process in <c>/proc/PID/stat</c>, or '?' once it is gone.</summary>
    private static char State(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return '?';
        }

        // "PID (COMM) S ...": the command may hold spaces and parentheses, the state follows the last ')'.
        var end = stat.LastIndexOf(')');
        return end >= 0 && end + 2 < stat.Length ? stat[end + 2] : '?';
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Cellar.Bench;

/// <summary>What a finished (or timed-out and killed) child process did.</summary>
internal sealed record ProcResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut)
{
    /// <summary>The process's peak resident memory (VmHWM), sampled every 100 ms while it ran; 0 when never sampled.</summary>
    public long PeakRssBytes { get; init; }

    /// <summary>
    /// User plus system CPU time of the process (and any child of it), from getrusage(RUSAGE_CHILDREN) before and after:
    /// exact when no other child of the bench ends meanwhile, as for the runs measured alone.
    /// </summary>
    public double CpuSeconds { get; init; }

    public bool Ok => !TimedOut && ExitCode == 0;

    /// <summary>The first non-empty stderr line, for a one-line note in the report.</summary>
    public string FirstErrorLine =>
        Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit code {ExitCode}";

    /// <summary>The last non-empty stdout line.</summary>
    public string LastStdoutLine =>
        Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
}

/// <summary>Runs tools as child processes with an argument list (never through a shell), timed with a stopwatch.</summary>
internal static class Proc
{
    public static readonly TimeSpan LongTimeout = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Runs <paramref name="file"/> to completion (or kills it after <paramref name="timeout"/>). When
    /// <paramref name="stdoutPath"/> is given, stdout goes to that file instead of memory.
    /// <paramref name="whileRunning"/> is called about every 100 ms until the process exits.
    /// </summary>
    public static async Task<ProcResult> RunAsync(
        string file,
        IEnumerable<string> args,
        TimeSpan? timeout = null,
        string? stdoutPath = null,
        Action? whileRunning = null,
        string? workingDirectory = null)
    {
        using var process = new Process { StartInfo = StartInfo(file, args, redirectStdin: false, workingDirectory) };
        var cpuBefore = ChildrenCpuSeconds();
        var stopwatch = Stopwatch.StartNew();
        process.Start();

        Task<string> stdout;
        FileStream? sink = null;
        if (stdoutPath is null)
        {
            stdout = process.StandardOutput.ReadToEndAsync();
        }
        else
        {
            sink = new FileStream(stdoutPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            stdout = CopyAsync(process.StandardOutput.BaseStream, sink);
        }

        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? LongTimeout;
        var timedOut = false;
        long peak = 0;
        using (var cts = new CancellationTokenSource(limit))
        {
            var exited = process.WaitForExitAsync(cts.Token);
            while (true)
            {
                var done = await Task.WhenAny(exited, Task.Delay(100)).ConfigureAwait(false);
                if (done == exited)
                {
                    try
                    {
                        await exited.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        timedOut = true;
                    }

                    break;
                }

                peak = Math.Max(peak, PeakRss(process));
                whileRunning?.Invoke();
            }
        }

        if (timedOut)
        {
            whileRunning?.Invoke();
            process.Kill();
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        stopwatch.Stop();
        var output = await stdout.ConfigureAwait(false);
        var error = await stderr.ConfigureAwait(false);
        if (sink is not null)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
        }

        return new ProcResult(process.ExitCode, output, error, stopwatch.Elapsed, timedOut) { PeakRssBytes = peak, CpuSeconds = ChildrenCpuSeconds() - cpuBefore };
    }

    /// <summary>CPU seconds (user + system) of every child that has ended and been waited for (struct rusage: two timevals first).</summary>
    private static double ChildrenCpuSeconds()
    {
        var usage = new long[18];
        return getrusage(RusageChildren, usage) == 0 ? usage[0] + (usage[1] / 1e6) + usage[2] + (usage[3] / 1e6) : double.NaN;
    }

    private const int RusageChildren = -1;

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, [Out] long[] usage);

    /// <summary>VmHWM: the high-water mark never goes down, so the last sample before exit is the peak.</summary>
    private static long PeakRss(Process process)
    {
        try
        {
            process.Refresh();
            return process.PeakWorkingSet64;
        }
        catch (InvalidOperationException)
        {
            return 0; // exited between two samples
        }
    }

    /// <summary>Runs a tool and throws when it fails: for setup steps, not for measured ones.</summary>
    public static async Task<ProcResult> RunCheckedAsync(string file, params string[] args)
    {
        var result = await RunAsync(file, args).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {result.FirstErrorLine}");
        }

        return result;
    }

    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, bool redirectStdin, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = redirectStdin,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Cellar reads CELLAR_CONFIG and CELLAR__* overrides from the environment; the bench's config must be the only input.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("CELLAR", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        return info;
    }

    /// <summary>The dotnet host that runs framework-dependent assemblies (cellar.dll, Cellar.LoadWriter.dll).</summary>
    public static string DotnetHost()
    {
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        return "dotnet";
    }

    /// <summary>Flushes dirty pages system-wide so one measurement's write-back is not charged to the next.</summary>
    public static Task SyncAsync() => RunAsync("sync", []);

    private static async Task<string> CopyAsync(Stream from, Stream to)
    {
        await from.CopyToAsync(to, 1 << 20).ConfigureAwait(false);
        return "";
    }
}

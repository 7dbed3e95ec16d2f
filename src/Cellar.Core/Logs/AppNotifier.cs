using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// Makes the app writing a log reopen it after a <see cref="SignalCut"/> renamed it: tells it (the configured signal to
/// the pid in the pid file, or a POST to the reopen URL), then waits until it writes to the fresh file.
/// </summary>
internal static class AppNotifier
{
    private static readonly TimeSpan ReopenWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Tells the app to reopen its log: the configured signal to the pid in the pid file, or a POST to the URL.</summary>
    public static async Task NotifyAsync(RotateJob job, string path, IReadOnlyList<LogWriter> writers, CancellationToken cancellationToken)
    {
        if (job.PidFile is { } pidFile)
        {
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 1)
            {
                throw new CellarException($"pid file {pidFile} does not hold the pid of the app writing the log");
            }

            // A stale pid file (or one the app's user rewrote) must not make Cellar signal an unrelated process.
            if (writers.Count > 0 && writers.All(w => w.Pid != pid))
            {
                throw new CellarException($"pid {pid} (from {pidFile}) does not write {path} (pid {writers[0].Pid}, {writers[0].Name}, does); not signalling it");
            }

            if (NativeMethods.Kill(pid, job.ReopenSignal) != 0)
            {
                throw new CellarException($"cannot signal pid {pid} (from {pidFile}) to reopen its log: {UnixFiles.Describe(Marshal.GetLastPInvokeError())}");
            }

            return;
        }

        try
        {
            using var http = new HttpClient { Timeout = ReopenWait };
            using var response = await http.PostAsync(job.ReopenUrl, content: null, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new CellarException($"{job.ReopenUrl} answered {(int)response.StatusCode} to the request to reopen the log");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new CellarException($"cannot ask the app to reopen its log at {job.ReopenUrl}: {(e is TaskCanceledException ? $"no answer within {ReopenWait.TotalSeconds:0} s" : e.Message)}", e);
        }
    }

    /// <summary>Waits until the app writes to the new file: its descriptors on the old one are gone, or (when it cannot be seen) the old one stops growing.</summary>
    public static async Task WaitForReopenAsync(string path, string rotated, bool writerVisible, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        var lastSize = new FileInfo(rotated).Length;
        while (true)
        {
            if (writerVisible ? LogWriters.Find(rotated).Count == 0 : quiet.Elapsed >= QuietPeriod)
            {
                return;
            }

            if (clock.Elapsed > ReopenWait)
            {
                throw new CellarException($"the app did not reopen {path} within {ReopenWait.TotalSeconds:0} s; {rotated} is kept and archived by the next run");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            var size = new FileInfo(rotated).Length;
            if (size != lastSize)
            {
                lastSize = size;
                quiet.Restart();
            }
        }
    }
}

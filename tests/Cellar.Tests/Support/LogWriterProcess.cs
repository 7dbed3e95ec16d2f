using System.Diagnostics;
using System.Text.Json;

namespace Cellar.Tests.Support;

/// <summary>
/// <c>Cellar.LoadWriter log</c> as a child process: "the app's logger", appending numbered lines to a file as
/// fast as it can (with O_APPEND unless told otherwise) until stopped.
/// </summary>
internal sealed class LogWriterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _stopped;

    private LogWriterProcess(Process process) => _process = process;

    /// <summary>The writer's pid (for SIGHUP).</summary>
    public int Pid => _process.Id;

    /// <summary>Starts the writer and returns once it has written its first line.</summary>
    public static async Task<LogWriterProcess> StartAsync(string path, CancellationToken ct, params string[] options)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[LoadWriterProcess.AssemblyPath, "log", "--path", path, .. options])
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var first = await process.StandardOutput.ReadLineAsync(ct);
        if (first != "started")
        {
            var error = await process.StandardError.ReadToEndAsync(ct);
            process.Kill();
            throw new InvalidOperationException($"the log writer did not start: {first} {error}");
        }

        return new LogWriterProcess(process);
    }

    /// <summary>Stops the writer (closes its stdin) and returns how many lines it wrote and at what rate.</summary>
    public async Task<(long Lines, double LinesPerSecond)> StopAsync(CancellationToken ct)
    {
        _stopped = true;
        _process.StandardInput.Close();
        var output = await _process.StandardOutput.ReadToEndAsync(ct);
        await _process.WaitForExitAsync(ct);
        var elapsed = _clock.Elapsed.TotalSeconds;
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var lines = json.RootElement.GetProperty("lines").GetInt64();
        return (lines, lines / elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped && !_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

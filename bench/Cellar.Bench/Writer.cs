using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Cellar.Bench;

/// <summary>The LoadWriter's final JSON line: commit count and commit latencies (BEGIN IMMEDIATE … COMMIT, busy waits included).</summary>
internal sealed record WriterStats(long Commits, long LastN, double P50Ms, double P99Ms, double MaxMs, long BusyErrors, double ElapsedS)
{
    public static readonly WriterStats None = new(0, 0, double.NaN, double.NaN, double.NaN, 0, 0);
}

/// <summary>
/// tests/Cellar.LoadWriter as a child process ("the app"): commits at a fixed rate until its stdin is closed, then
/// prints one JSON line with its statistics.
/// </summary>
internal sealed class Writer : IDisposable
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _lines = [];
    private readonly Task _stdout;
    private readonly Task<string> _stderr;

    private Writer(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }

                if (line == "ready")
                {
                    _ready.TrySetResult();
                }
            }

            _ready.TrySetResult();
        });
    }

    /// <summary>The writer's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Starts the writer and returns after its first commit.</summary>
    public static async Task<Writer> StartAsync(string dll, string db, string journal, int rate)
    {
        var info = Proc.StartInfo(
            Proc.DotnetHost(),
            [dll, "--db", db, "--journal", journal, "--rate", rate.ToString(CultureInfo.InvariantCulture)],
            redirectStdin: true);
        var process = new Process { StartInfo = info };
        process.Start();
        var writer = new Writer(process);
        var ready = writer._ready.Task;
        if (await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(60))).ConfigureAwait(false) != ready || process.HasExited)
        {
            var stderr = process.HasExited ? await writer._stderr.ConfigureAwait(false) : "no 'ready' within 60 s";
            writer.Dispose();
            throw new InvalidOperationException($"LoadWriter did not start on {db}: {stderr.Trim()}");
        }

        return writer;
    }

    /// <summary>Closes stdin (the writer's stop signal), waits for it to exit and parses its final line.</summary>
    public async Task<WriterStats> StopAsync()
    {
        _process.StandardInput.Close();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            try
            {
                await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync().ConfigureAwait(false);
                throw new InvalidOperationException("LoadWriter did not stop within 60 s of closing its stdin");
            }
        }

        await _stdout.ConfigureAwait(false);
        var stderr = await _stderr.ConfigureAwait(false);
        string? json;
        lock (_lines)
        {
            json = _lines.LastOrDefault(l => l.StartsWith('{'));
        }

        if (json is null)
        {
            throw new InvalidOperationException($"LoadWriter printed no statistics (exit {_process.ExitCode}): {stderr.Trim()}");
        }

        if (!string.IsNullOrWhiteSpace(stderr))
        {
            Console.Error.WriteLine($"  LoadWriter stderr: {stderr.Trim()}");
        }

        return JsonSerializer.Deserialize<WriterStats>(json, JsonOptions)
            ?? throw new InvalidOperationException($"LoadWriter statistics unreadable: {json}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}

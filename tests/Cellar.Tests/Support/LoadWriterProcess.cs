using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cellar.Tests.Support;

/// <summary>What Cellar.LoadWriter reports on exit (its one JSON line). Latencies cover BEGIN IMMEDIATE … COMMIT,
/// busy waits included, of every successful commit but the first (warm-up) one; elapsed starts after that one.</summary>
internal sealed record LoadWriterStats(
    long Commits,
    long LastN,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    long BusyErrors,
    double ElapsedS);

/// <summary>
/// Runs tests/Cellar.LoadWriter as a separate process that plays "the app": it keeps committing parent/child rows
/// (n = 1, 2, 3, …) to a SQLite database while a test backs it up. The build copies the writer to
/// <c>loadwriter/</c> next to the test assembly (see CopyLoadWriter in Cellar.Tests.csproj).
/// </summary>
internal sealed class LoadWriterProcess : IAsyncDisposable
{
    private static readonly TimeSpan StdinCloseGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SigtermGrace = TimeSpan.FromSeconds(10);
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly Process _process;
    private readonly Task<string> _stderr;
    private bool _stopped;

    private LoadWriterProcess(Process process, string dbPath)
    {
        _process = process;
        DbPath = dbPath;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The database the writer commits to.</summary>
    public string DbPath { get; }

    /// <summary>The writer's process id, as a writer check should name it.</summary>
    public int Pid => _process.Id;

    /// <summary>Path of the LoadWriter assembly the tests run (<c>dotnet &lt;this&gt;</c>).</summary>
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "loadwriter", "Cellar.LoadWriter.dll");

    /// <summary>Starts the writer (journal "wal" or "delete"; rate commits/s, 0 = as fast as it can) and returns once
    /// it has created the schema and made its first commit.</summary>
    public static Task<LoadWriterProcess> StartAsync(string dbPath, string journal, int rate, CancellationToken ct)
        => StartAsync(dbPath, journal, rate, [], ct);

    /// <summary>As <see cref="StartAsync(string, string, int, CancellationToken)"/>, with more writer options
    /// (e.g. <c>["--busy-timeout", "2000", "--payload", "4096"]</c>).</summary>
    public static async Task<LoadWriterProcess> StartAsync(
        string dbPath, string journal, int rate, IReadOnlyList<string> extraArgs, CancellationToken ct)
    {
        string dll = AssemblyPath;
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException(
                "Cellar.LoadWriter is not next to the tests; building Cellar.Tests copies it to loadwriter/.", dll);
        }

        var startInfo = new ProcessStartInfo(DotnetHostPath())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        startInfo.ArgumentList.Add(dll);
        startInfo.ArgumentList.Add("--db");
        startInfo.ArgumentList.Add(dbPath);
        startInfo.ArgumentList.Add("--journal");
        startInfo.ArgumentList.Add(journal);
        startInfo.ArgumentList.Add("--rate");
        startInfo.ArgumentList.Add(rate.ToString(CultureInfo.InvariantCulture));
        foreach (string arg in extraArgs)
        {
            startInfo.ArgumentList.Add(arg);
        }

        Process process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {startInfo.FileName} {dll}.");
        var writer = new LoadWriterProcess(process, dbPath);
        try
        {
            await writer.WaitForReadyAsync(ct).ConfigureAwait(false);
            return writer;
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Asks the writer to stop after its current commit (closes its stdin; sends SIGTERM if that is not enough),
    /// waits for it and returns its report. Throws if it fails or does not stop.
    /// </summary>
    public async Task<LoadWriterStats> StopAsync(CancellationToken ct)
    {
        if (_stopped)
        {
            throw new InvalidOperationException("The load writer was stopped already.");
        }

        _stopped = true;
        Task<string> stdout = _process.StandardOutput.ReadToEndAsync(ct);
        _process.StandardInput.Close();

        if (!await WaitForExitAsync(StdinCloseGrace, ct).ConfigureAwait(false))
        {
            await SendSigtermAsync(ct).ConfigureAwait(false);
            if (!await WaitForExitAsync(SigtermGrace, ct).ConfigureAwait(false))
            {
                _process.Kill(entireProcessTree: true);
                throw new TimeoutException(
                    $"The load writer did not stop within {(StdinCloseGrace + SigtermGrace).TotalSeconds} s of closing its stdin and SIGTERM. "
                    + await StderrAsync().ConfigureAwait(false));
            }
        }

        string output = await stdout.ConfigureAwait(false);
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"The load writer exited with code {_process.ExitCode}. {await StderrAsync().ConfigureAwait(false)}");
        }

        string? json = output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(line => line.StartsWith('{'));
        if (json is null)
        {
            throw new InvalidOperationException(
                $"The load writer printed no report. stdout: '{output}'. {await StderrAsync().ConfigureAwait(false)}");
        }

        return JsonSerializer.Deserialize<LoadWriterStats>(json, JsonOptions)
            ?? throw new InvalidOperationException($"Unreadable load writer report: {json}");
    }

    /// <summary>Kills the writer if it is still running (a test that failed before <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not killable; nothing more to do in a dispose.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task WaitForReadyAsync(CancellationToken ct)
    {
        while (true)
        {
            // WaitAsync: a pending pipe read may not observe the token; on cancellation the process is killed anyway.
            string? line = await _process.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(ct).ConfigureAwait(false);
            if (line is null)
            {
                await _process.WaitForExitAsync(ct).ConfigureAwait(false);
                throw new InvalidOperationException(
                    $"The load writer exited (code {_process.ExitCode}) before it was ready. {await StderrAsync().ConfigureAwait(false)}");
            }

            if (line.Trim() == "ready")
            {
                return;
            }
        }
    }

    private async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        linked.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task SendSigtermAsync(CancellationToken ct)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // The shell's kill builtin avoids P/Invoke and needs no procps.
        var startInfo = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("kill -TERM \"$0\"");
        startInfo.ArgumentList.Add(_process.Id.ToString(CultureInfo.InvariantCulture));
        using Process? kill = Process.Start(startInfo);
        if (kill is not null)
        {
            await kill.WaitForExitAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task<string> StderrAsync()
    {
        // stderr ends when the process does; don't hang on it if the process is still alive.
        Task<string> stderr = _stderr;
        if (await Task.WhenAny(stderr, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false) != stderr)
        {
            return "stderr: (still open)";
        }

        string text = (await stderr.ConfigureAwait(false)).Trim();
        return text.Length == 0 ? "stderr: (empty)" : $"stderr: {text}";
    }

    private static string DotnetHostPath()
    {
        // Set by the dotnet CLI for the processes it starts (dotnet test, dotnet run).
        string? hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        string? current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root))
        {
            string candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// <c>cellar serve</c> as a child process on a <see cref="CliSandbox"/>, listening on a random loopback port with an
/// admin token; everything it prints is kept so a test can look for stack traces. SIGTERM on dispose.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    public const string Token = "0123456789abcdef-test-token";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private DaemonProcess(Process process, Uri address, StringBuilder output)
    {
        _process = process;
        _output = output;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    /// <summary>A client that sends the admin token.</summary>
    public HttpClient Client { get; }

    /// <summary>What the daemon printed so far, stdout and stderr.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The daemon's process id.</summary>
    public int Id => _process.Id;

    /// <summary>
    /// Starts the daemon on the sandbox's config after <paramref name="configure"/> changed it, with
    /// <paramref name="environment"/> added to its environment; returns once it listens.
    /// </summary>
    public static async Task<DaemonProcess> StartAsync(CliSandbox sandbox, Action<JsonNode>? configure = null, IDictionary<string, string>? environment = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        var tokenFile = sandbox.Combine("api-token");
        await File.WriteAllTextAsync(tokenFile, Token, ct);
        File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        config["listen"] = "http://127.0.0.1:0";
        config["apiTokenFile"] = tokenFile;
        configure?.Invoke(config);
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        var process = CellarProcess.Start(["--config", sandbox.ConfigPath, "serve"], environment);
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Keep(string? line)
        {
            if (line is null)
            {
                listening.TrySetException(new InvalidOperationException("the daemon exited before listening"));
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            const string Marker = "cellar: listening on ";
            if (line.IndexOf(Marker, StringComparison.Ordinal) is >= 0 and var at)
            {
                listening.TrySetResult(new Uri(line[(at + Marker.Length)..].Trim()));
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return new DaemonProcess(process, await listening.Task.WaitAsync(TimeSpan.FromSeconds(60), ct), output);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException($"cellar serve did not start: {output}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }

        _process.Dispose();
    }
}

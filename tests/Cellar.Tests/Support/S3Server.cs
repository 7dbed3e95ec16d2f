using System.Diagnostics;
using System.Net.Sockets;
using Cellar.Core.Storage;
using Xunit;

namespace Cellar.Tests.Support;

/// <summary>
/// A real S3-compatible server (the npm package s3rver, pinned in tests/s3server) as a child process on 127.0.0.1
/// with its own data folder and a bucket named <see cref="Bucket"/>. It can be stopped and started again on the
/// same port and data, for outage tests. Installed on first use with npm when missing.
/// </summary>
internal sealed class S3Server : IAsyncDisposable
{
    public const string Bucket = "cellar";

    // s3rver's fixed credentials.
    private const string AccessKey = "S3RVER";
    private const string SecretKey = "S3RVER";

    private static readonly SemaphoreSlim Install = new(1, 1);
    private readonly TempFolder _data = new();
    private Process? _process;

    private S3Server(int port) => Port = port;

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>Where the server keeps its buckets (one folder each).</summary>
    public string DataFolder => _data.Combine("data");

    /// <summary>A credentials file for the server, in the AWS format Cellar reads.</summary>
    public string CredentialsFile { get; private set; } = "";

    /// <summary>Starts a server, or skips the test (with the reason) when Node.js is not installed.</summary>
    public static async Task<S3Server> StartAsync(CancellationToken ct)
    {
        var script = await ScriptAsync(ct);
        var server = new S3Server(LoopbackPort.Free());
        server.CredentialsFile = server._data.Combine("credentials");
        await File.WriteAllTextAsync(server.CredentialsFile, $"[default]\naws_access_key_id = {AccessKey}\naws_secret_access_key = {SecretKey}\n", ct);
        File.SetUnixFileMode(server.CredentialsFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // a secret file: owner-only
        await server.RunAsync(script, ct);
        return server;
    }

    /// <summary>Options for a store on this server (path style, no SDK checksums or chunked bodies, as configured by default).</summary>
    public S3Options Options(string prefix = "") => new()
    {
        Bucket = Bucket,
        Prefix = prefix,
        Endpoint = Endpoint,
        ForcePathStyle = true,
        CredentialsFile = CredentialsFile,
    };

    /// <summary>Kills the server (as a crash or an outage would); its data stays for <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port and data.</summary>
    public async Task RestartAsync(CancellationToken ct) => await RunAsync(await ScriptAsync(ct), ct);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _data.Dispose();
    }

    private async Task RunAsync(string script, CancellationToken ct)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[script, "--directory", _data.Combine("data"), "--address", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", Bucket])
        {
            info.ArgumentList.Add(arg);
        }

        Directory.CreateDirectory(_data.Combine("data"));
        _process?.Dispose();
        _process = Process.Start(info)!;
        _ = _process.StandardOutput.ReadToEndAsync(ct);
        _ = _process.StandardError.ReadToEndAsync(ct);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, ct);
                return;
            }
            catch (SocketException) when (waited.Elapsed < TimeSpan.FromSeconds(20) && !_process.HasExited)
            {
                await Task.Delay(50, ct);
            }
        }
    }

    private static async Task<string> ScriptAsync(CancellationToken ct)
    {
        var folder = Path.Combine(Repository.Root, "tests", "s3server");
        var script = Path.Combine(folder, "node_modules", "s3rver", "bin", "s3rver.js");
        Assert.SkipWhen(Which("node") is null, "Node.js is not installed: the S3 tests run against s3rver (npm)");
        await Install.WaitAsync(ct);
        try
        {
            if (!File.Exists(script))
            {
                var npm = Which("npm");
                Assert.SkipWhen(npm is null, "npm is not installed: run `npm ci --prefix tests/s3server` to get s3rver");
                var info = new ProcessStartInfo(npm!, ["ci", "--no-audit", "--no-fund", "--prefix", folder]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using var install = Process.Start(info)!;
                var error = install.StandardError.ReadToEndAsync(ct);
                await install.StandardOutput.ReadToEndAsync(ct);
                await install.WaitForExitAsync(ct);
                Assert.True(install.ExitCode == 0, $"npm ci --prefix tests/s3server failed: {await error}");
            }
        }
        finally
        {
            Install.Release();
        }

        return script;
    }

    private static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary><c>cellar serve</c> as a child process: ready, running scheduled jobs, and stopping cleanly on SIGTERM.</summary>
public sealed class ServeTests
{
    [Fact]
    public async Task The_daemon_answers_readyz_runs_a_scheduled_job_and_on_SIGTERM_exits_0_leaving_no_partial_file()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(8 << 20);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        config["listen"] = "http://127.0.0.1:0";
        config["shutdownGraceSeconds"] = 0; // SIGTERM cancels a running backup at once: it must clean up after itself
        config["jobs"]!["daily"]!["schedule"] = "* * * * * *";
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        using var daemon = CellarProcess.Start(["--config", sandbox.ConfigPath, "serve"]);
        var stderr = daemon.StandardError.ReadToEndAsync(ct);
        try
        {
            var address = await ListeningAddressAsync(daemon, ct);
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative), ct)).StatusCode);

            var clock = Stopwatch.StartNew();
            while (!Directory.Exists(sandbox.DailyFolder) || !Directory.EnumerateFiles(sandbox.DailyFolder, "*.gz").Any())
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "no scheduled backup within 30 s");
                await Task.Delay(100, ct);
            }

            // Mid-way through the next backups (one a second), most likely while one is being written.
            await Task.Delay(1300, ct);
            Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var exit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exit.CancelAfter(TimeSpan.FromSeconds(15));
            await daemon.WaitForExitAsync(exit.Token);

            Assert.True(daemon.ExitCode == 0, $"exit {daemon.ExitCode}: {await stderr}");
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }
        }

        CliSandbox.AssertNoTempFiles(sandbox.Root);
        var verify = await sandbox.CellarAsync("verify", "--all");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    internal static async Task<string> ListeningAddressAsync(Process daemon, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (await daemon.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            const string Marker = "cellar: listening on ";
            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                // Keep draining stdout so the daemon never blocks on a full pipe.
                _ = daemon.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                return line[(at + Marker.Length)..].Trim();
            }
        }

        throw new InvalidOperationException("the daemon exited before listening");
    }
}

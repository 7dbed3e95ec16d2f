using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// A run killed outright (SIGKILL, the OOM killer, a power cut) cannot say anything itself: the daemon, as it starts,
/// records it as failed and sweeps what it left, before it schedules anything.
/// </summary>
public sealed class DaemonRecoveryTests
{
    [Fact]
    public async Task A_run_killed_by_SIGKILL_is_recorded_as_failed_and_its_leftovers_swept_when_the_daemon_starts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(40L << 20);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        config["listen"] = "http://127.0.0.1:0";
        config["jobs"]!["daily"]!["catchUp"] = false;
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        using (var run = CellarProcess.Start(["--config", sandbox.ConfigPath, "run", "daily"]))
        {
            var clock = Stopwatch.StartNew();
            // The backup's own temp file: the run has marked itself as running by then.
            while (!CliSandbox.TempFiles(sandbox.DailyFolder).Any(f => Path.GetFileName(f).StartsWith(".portfolio-", StringComparison.Ordinal)))
            {
                Assert.False(run.HasExited, "the run finished before it could be killed");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no temp file within 60 s");
                await Task.Delay(5, ct);
            }

            run.Kill();
            await run.WaitForExitAsync(ct);
        }

        Assert.NotEmpty(CliSandbox.TempFiles(sandbox.DailyFolder));
        using var daemon = CellarProcess.Start(["--config", sandbox.ConfigPath, "serve"]);
        var stderr = daemon.StandardError.ReadToEndAsync(ct);
        try
        {
            await ServeTests.ListeningAddressAsync(daemon, ct);
            var waited = Stopwatch.StartNew();
            while (CliSandbox.TempFiles(sandbox.DailyFolder).Count > 0)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the daemon did not sweep the killed run's temp files");
                await Task.Delay(50, ct);
            }

            var status = await sandbox.CellarAsync("status", "--json");
            using var json = JsonDocument.Parse(status.Stdout);
            var daily = json.RootElement.EnumerateArray().Single(j => j.GetProperty("job").GetString() == "daily");
            Assert.Contains("interrupted", daily.GetProperty("lastFailureMessage").GetString(), StringComparison.Ordinal);
            Assert.Contains("never finished", await File.ReadAllTextAsync(Path.Combine(sandbox.LogDir, "backup.log"), ct), StringComparison.Ordinal);

            // SIGHUP (a closed terminal) stops the daemon cleanly too, with one line.
            await Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExitAsync(ct);
            using var exit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exit.CancelAfter(TimeSpan.FromSeconds(20));
            await daemon.WaitForExitAsync(exit.Token);
            Assert.True(daemon.ExitCode == 0, $"exit {daemon.ExitCode}: {await stderr}");
            Assert.Contains("cellar: stopped on SIGHUP", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }
        }
    }
}

using System.Diagnostics;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// The config must be a regular file of a sane size: a device, a FIFO or a folder named by <c>--config</c> is refused
/// at once with one line (exit 2), instead of reading forever or hanging.
/// </summary>
public sealed class ConfigFileTests : IDisposable
{
    // Far longer than refusing takes, short enough that reading /dev/zero (330 MB/s) cannot exhaust the machine.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static CellarConfig Load(string path) => ConfigLoader.Load(path, pathVariable: null, searchPaths: [], environmentOverrides: false);

    private string ValidConfig(string padding = "") => $$"""
        {
          "database": "{{_temp.Combine("portfolio.sqlite")}}",
          "backupRoot": "{{_temp.Combine("backups")}}",
          "logDir": "{{_temp.Combine("logs")}}",{{padding}}
          "jobs": { "daily": { "type": "snapshot", "schedule": "0 2 * * *" } }
        }
        """;

    [Fact]
    public void A_folder_given_as_config_is_refused_as_a_folder()
    {
        var folder = _temp.Combine("etc");
        Directory.CreateDirectory(folder);

        var error = Assert.Throws<ConfigException>(() => Load(folder));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains(folder, error.Message, StringComparison.Ordinal);
        Assert.Contains("is a folder", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_FIFO_given_as_config_is_refused_at_once_instead_of_waiting_for_a_writer()
    {
        var fifo = _temp.Combine("cellar.json");
        var (exit, output) = await CliSandbox.ExecAsync("mkfifo", fifo);
        Assert.True(exit == 0, output);

        var load = Task.Run(() => Load(fifo), TestContext.Current.CancellationToken);
        var finished = await Task.WhenAny(load, Task.Delay(Deadline, TestContext.Current.CancellationToken));
        if (finished != load)
        {
            // Unblock the reader so the test run does not hang behind it.
            await File.WriteAllTextAsync(fifo, ValidConfig(), TestContext.Current.CancellationToken);
            Assert.Fail($"loading a FIFO as config did not return within {Deadline.TotalSeconds} s");
        }

        var error = await Assert.ThrowsAsync<ConfigException>(() => load);
        Assert.Contains(fifo, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a regular file", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/null")]
    public async Task A_device_given_as_config_is_refused_at_once_with_one_line_and_exit_2(string device)
    {
        using var process = CellarProcess.Start(["--config", device, "status"]);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(Deadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            process.Kill();
            Assert.Fail($"cellar --config {device} still ran after {clock.Elapsed.TotalSeconds:0} s");
        }

        CliSandbox.AssertOneLineError(new CellarRun(process.ExitCode, await stdout, await stderr), 2, device, "not a regular file");
    }

    [Fact]
    public void A_config_larger_than_1_MiB_is_refused_without_being_parsed()
    {
        var path = _temp.Combine("cellar.json");
        File.WriteAllText(path, ValidConfig(padding: new string(' ', 1 << 20)));

        var error = Assert.Throws<ConfigException>(() => Load(path));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("1 MiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_reached_through_a_symbolic_link_is_read()
    {
        var real = _temp.Combine("real.json");
        File.WriteAllText(real, ValidConfig(padding: new string(' ', 1000)));
        var link = _temp.Combine("cellar.json");
        File.CreateSymbolicLink(link, real);

        var config = Load(link);

        Assert.Equal("daily", Assert.Single(config.Jobs).Name);
        Assert.Equal(link, config.Source);
    }
}

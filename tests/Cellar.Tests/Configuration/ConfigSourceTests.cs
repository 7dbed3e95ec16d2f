using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// A bad key or value that came from a <c>CELLAR__</c> environment variable is reported as that variable, so the
/// operator does not search the config file for a mistake that is not there. Real <c>cellar</c> processes, each with
/// its own environment.
/// </summary>
public sealed class ConfigSourceTests
{
    [Theory]
    [InlineData("CELLAR__jobs__daily__keepDays", "abc")]
    [InlineData("CELLAR__jobs__daily__keepDays", "0")]
    [InlineData("CELLAR__jobs__daily__kepDays", "60")]
    [InlineData("CELLAR__jobs__daily__catchUp", "maybe")]
    [InlineData("CELLAR__jobs__daily__schedule", "0 25 * * *")]
    [InlineData("CELLAR__JOBS__DAILY__KEEPDAYS", "abc")]
    [InlineData("CELLAR__jobz__daily__type", "snapshot")]
    [InlineData("CELLAR__nice", "99")]
    [InlineData("CELLAR__jobs__dialy__keepDays", "3")]
    public async Task A_bad_environment_override_is_reported_as_that_variable(string variable, string value)
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);

        var run = await CellarProcess.RunAsync(["--config", sandbox.ConfigPath, "status"], TestContext.Current.CancellationToken, new Dictionary<string, string> { [variable] = value });

        CliSandbox.AssertOneLineError(run, 2, $"environment variable {variable}");
        Assert.DoesNotContain($"config {sandbox.ConfigPath}", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_in_the_file_is_still_reported_in_the_file_when_another_variable_overrides_a_key()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var config = await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.Replace("\"keepDays\": 30", "\"keepDays\": 0", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var run = await CellarProcess.RunAsync(
            ["--config", sandbox.ConfigPath, "status"], TestContext.Current.CancellationToken, new Dictionary<string, string> { ["CELLAR__jobs__daily__keepAtLeast"] = "5" });

        CliSandbox.AssertOneLineError(run, 2, $"config {sandbox.ConfigPath}", "jobs:daily:keepDays");
        Assert.DoesNotContain("environment", run.Stderr, StringComparison.Ordinal);
    }
}

using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>The <c>cellar</c> executable's own switches and its usage errors.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var run = await CellarProcess.RunAsync(["--version"], TestContext.Current.CancellationToken);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", run.Stdout.Trim());
    }

    [Fact]
    public async Task Help_lists_the_commands_and_exits_0()
    {
        var run = await CellarProcess.RunAsync(["--help"], TestContext.Current.CancellationToken);

        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var command in new[] { "run", "list", "verify", "restore", "prune", "status" })
        {
            Assert.Contains(command, run.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("list", "--bogus")]
    [InlineData("run", "daily", "--bogus")]
    public async Task Unknown_option_is_a_usage_error_with_exit_2(params string[] args)
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);

        var run = await sandbox.CellarAsync(args);

        CliSandbox.AssertOneLineError(run, 2);
        Assert.False(Directory.Exists(sandbox.DailyFolder), "a usage error must not touch the backup folder");
    }

    [Fact]
    public async Task Unknown_option_after_a_command_is_named_in_the_error()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);

        var run = await sandbox.CellarAsync("list", "--bogus");

        CliSandbox.AssertOneLineError(run, 2, "--bogus");
    }
}

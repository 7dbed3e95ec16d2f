using System.Diagnostics;
using Cellar.Cli;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Demo;

/// <summary>
/// <c>cellar demo DIR</c> never overwrites someone's files, runs again in a folder it made, and ends with a command
/// that works as printed.
/// </summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("cellar.json")]
    [InlineData("notes.txt")]
    public async Task Demo_refuses_a_folder_that_holds_anything_it_did_not_make_and_touches_nothing(string existing)
    {
        var dir = _temp.Combine("mine");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, existing), "{ \"my\": \"config\" }", TestContext.Current.CancellationToken);
        var before = CliSandbox.Fingerprint(dir);

        var run = await CliSandbox.RunAsync(["demo", dir]);

        CliSandbox.AssertOneLineError(run, 2, dir, "not a new or empty folder");
        Assert.Equal(before, CliSandbox.Fingerprint(dir));
        Assert.Equal([Path.Combine(dir, existing)], Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public async Task Demo_runs_again_in_the_folder_it_made_and_suggests_a_command_that_works_as_printed()
    {
        var dir = _temp.Combine("cellar-demo");

        var first = await CliSandbox.RunAsync(["demo", dir]);
        var again = await CliSandbox.RunAsync(["demo", dir]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(again.ExitCode == 0, again.ToString());
        var suggested = again.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("Try: ", StringComparison.Ordinal))["Try: ".Length..];
        var (exitCode, output) = await ShellAsync(suggested);
        Assert.True(exitCode == 0, $"'{suggested}' failed: {output}");
        Assert.Contains("portfolio-", output, StringComparison.Ordinal);
    }

    /// <summary>Runs a command line through <c>sh</c>, from this process's working directory as the demo had it.</summary>
    private static async Task<(int ExitCode, string Output)> ShellAsync(string commandLine)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(commandLine);
        info.Environment.Remove("CELLAR_CONFIG");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>The command Cellar suggests for running itself again is the one that was run.</summary>
public sealed class SelfInvocationTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_build_in_the_source_tree_is_run_with_dotnet_run_from_where_the_user_stands()
    {
        var project = Directory.CreateDirectory(_temp.Combine("repo", "src", "Cellar")).FullName;
        File.WriteAllText(Path.Combine(project, "Cellar.csproj"), "<Project />");
        var output = Directory.CreateDirectory(Path.Combine(project, "bin", "Debug", "net10.0")).FullName;
        File.WriteAllText(Path.Combine(output, "cellar.dll"), string.Empty);

        Assert.Equal("dotnet run --project src/Cellar --", SelfInvocation.Describe(Path.Combine(output, "cellar"), output, _temp.Combine("repo"), "/usr/bin"));
        Assert.Equal($"dotnet run --project {project} --", SelfInvocation.Describe(Path.Combine(output, "cellar"), output, _temp.Combine("elsewhere"), "/usr/bin"));
    }

    [Fact]
    public void The_native_binary_is_suggested_by_name_when_PATH_finds_it_else_by_its_path()
    {
        var bin = Directory.CreateDirectory(_temp.Combine("opt", "cellar")).FullName;
        var binary = Path.Combine(bin, "cellar");
        File.WriteAllText(binary, string.Empty);
        var onPath = Directory.CreateDirectory(_temp.Combine("usr-local-bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(onPath, "cellar"), binary);

        Assert.Equal(binary, SelfInvocation.Describe(binary, bin, "/", "/usr/bin:/bin"));
        Assert.Equal("cellar", SelfInvocation.Describe(binary, bin, "/", $"/usr/bin:{onPath}"));
        Assert.Equal("cellar", SelfInvocation.Describe(binary, bin, "/", $"/usr/bin:{bin}"));
    }

    [Fact]
    public void A_native_binary_published_inside_the_source_tree_is_still_suggested_itself()
    {
        var project = Directory.CreateDirectory(_temp.Combine("src", "Cellar")).FullName;
        File.WriteAllText(Path.Combine(project, "Cellar.csproj"), "<Project />");
        var publish = Directory.CreateDirectory(Path.Combine(project, "bin", "Release", "net10.0", "linux-x64", "publish")).FullName;

        Assert.Equal(Path.Combine(publish, "cellar"), SelfInvocation.Describe(Path.Combine(publish, "cellar"), publish, _temp.Path, null));
    }

    [Fact]
    public void Through_the_dotnet_host_the_dll_is_named_and_a_path_with_spaces_is_quoted()
    {
        var app = Directory.CreateDirectory(_temp.Combine("my apps", "cellar")).FullName;
        File.WriteAllText(Path.Combine(app, "cellar.dll"), string.Empty);

        Assert.Equal($"dotnet '{Path.Combine(app, "cellar.dll")}'", SelfInvocation.Describe("/usr/share/dotnet/dotnet", app, "/", null));
        Assert.Equal("dotnet 'my apps/cellar/cellar.dll'", SelfInvocation.Describe("/usr/share/dotnet/dotnet", app, _temp.Path, null));
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;

using Cellar.Core.IO;
using Cellar.Tests.Cli;

using Xunit;

namespace Cellar.Tests.Support;

/// <summary>
/// Runs a step as an unprivileged user (nobody, 65534) when the tests run as root, as CI does. Root reads a file
/// whatever its mode and every process's descriptors, so a test of what Cellar does when permission is denied would
/// prove nothing as root; <c>setpriv</c> (util-linux) drops the ids for the step instead. When the tests already run
/// unprivileged, each step runs as it is.
/// </summary>
internal static class Unprivileged
{
    private const string SetPriv = "/usr/bin/setpriv";
    private const string Nobody = "65534";

    /// <summary>Long enough for a child test process to start and run one quick test.</summary>
    private static readonly TimeSpan RerunTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Whether steps must drop privileges (the tests run as root).</summary>
    public static bool Needed => UnixFiles.IsRoot;

    /// <summary>The command prefix that runs a program as nobody with no supplementary groups, or none when not needed.</summary>
    public static IReadOnlyList<string>? Wrapper => Needed ? [SetPriv, $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--"] : null;

    /// <summary>Gives <paramref name="folder"/> and everything in it to nobody, so a step run as nobody can write where the test could.</summary>
    public static async Task HandOverAsync(string folder)
    {
        if (!Needed)
        {
            return;
        }

        Assert.SkipUnless(File.Exists(SetPriv), "running as root and setpriv (util-linux) is missing, so this cannot run unprivileged");
        var (exit, output) = await CliSandbox.ExecAsync("chown", "-R", $"{Nobody}:{Nobody}", folder);
        Assert.True(exit == 0, $"chown -R {Nobody}:{Nobody} {folder}: {output}");
    }

    /// <summary><c>cellar --config CONFIG ARGS</c> to completion, as nobody when the tests run as root.</summary>
    public static Task<CellarRun> CellarAsync(string configPath, params string[] args) =>
        CliSandbox.RunAsync(["--config", configPath, .. args], wrapper: Wrapper);

    /// <summary>
    /// When the tests run as root, runs the calling test again in a child test process as nobody, asserts that it
    /// passed there (not skipped) and returns true: the caller then returns at once. Returns false when the tests
    /// already run unprivileged, and the caller goes on with the test itself.
    /// </summary>
    public static async Task<bool> RanTestAsNobodyAsync(Type testClass, [CallerMemberName] string test = "")
    {
        if (!Needed)
        {
            return false;
        }

        Assert.SkipUnless(File.Exists(SetPriv), "running as root and setpriv (util-linux) is missing, so this cannot run unprivileged");
        var name = $"{testClass.FullName}.{test}";

        // xunit v3 test assemblies are programs: run this one with a filter down to the one test.
        string[] command = [.. Wrapper!, CellarProcess.DotnetHost(), testClass.Assembly.Location, "-method", name, "-noColor", "-noLogo"];
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {SetPriv}");
        var run = await ChildRun.ToEndAsync(process, RerunTimeout);
        Assert.False(run.TimedOut, $"{name} run as nobody did not finish within {RerunTimeout.TotalSeconds} s; its output so far:\n{run.Stdout}{run.Stderr}");
        var output = run.Stdout + run.Stderr;
        Assert.True(
            run.ExitCode == 0 && output.Contains("Total: 1, Errors: 0, Failed: 0, Skipped: 0", StringComparison.Ordinal),
            $"{name} run as nobody (uid {Nobody}) did not pass: exit {run.ExitCode}\n{output}");
        return true;
    }
}

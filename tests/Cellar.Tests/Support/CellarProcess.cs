using System.Diagnostics;

namespace Cellar.Tests.Support;

/// <summary>Runs the real <c>cellar</c> executable as a child process, the way an operator or cron would.</summary>
internal static class CellarProcess
{
    public static string DllPath => System.IO.Path.Combine(AppContext.BaseDirectory, "cellar.dll");

    /// <summary>
    /// Starts <c>cellar ARGS</c> with stdout/stderr captured; with <paramref name="wrapper"/> (a program and its
    /// arguments, such as <see cref="Unprivileged.Wrapper"/>) as <c>WRAPPER dotnet cellar.dll ARGS</c>.
    /// </summary>
    public static Process Start(IEnumerable<string> args, IDictionary<string, string>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        // Through env(1), which execs in place (same pid): a test run started in the background by a non-interactive
        // shell inherits SIGINT ignored, which the child would inherit too; an operator's terminal gives defaults.
        string[] command = ["env", "--default-signal", .. wrapper ?? [], DotnetHost(), DllPath];
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // A test must never pick up a config from the machine it runs on.
        info.Environment.Remove("CELLAR_CONFIG");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start cellar");
    }

    /// <summary>Runs <c>cellar ARGS</c> to completion.</summary>
    public static async Task<CellarRun> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken, IDictionary<string, string>? environment = null)
    {
        using var process = Start(args, environment);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return new CellarRun(process.ExitCode, await stdout, await stderr);
    }

    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } self && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";
}

/// <summary>The outcome of one <c>cellar</c> invocation.</summary>
internal sealed record CellarRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

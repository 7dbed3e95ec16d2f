using System.Diagnostics;
using Xunit;

namespace Cellar.Tests.Support;

/// <summary>A child process run to its end within a deadline: what every test that starts one and waits for it needs.</summary>
internal sealed record ChildRun(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    /// <summary>
    /// Reads <paramref name="process"/>'s output until it exits. Past <paramref name="deadline"/> its whole tree is
    /// killed and the run comes back <see cref="TimedOut"/> with the output so far, for the caller to fail the test
    /// with, instead of stalling the suite; a cancelled test run is cancelled.
    /// </summary>
    public static async Task<ChildRun> ToEndAsync(Process process, TimeSpan deadline)
    {
        var ct = TestContext.Current.CancellationToken;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(deadline);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            ct.ThrowIfCancellationRequested();
            timedOut = true;
        }

        return new ChildRun(process.ExitCode, await stdout, await stderr, timedOut);
    }
}

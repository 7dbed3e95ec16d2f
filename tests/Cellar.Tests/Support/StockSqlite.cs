using System.Diagnostics;

namespace Cellar.Tests.Support;

/// <summary>The stock <c>sqlite3</c> shell (apt package sqlite3, installed by .ci/run), run without a shell.</summary>
internal static class StockSqlite
{
    /// <summary>Runs <paramref name="script"/> against <paramref name="database"/> as <c>sqlite3 -bail DB &lt; script</c> would.</summary>
    public static async Task RunAsync(string database, byte[] script, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("sqlite3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-bail");
        start.ArgumentList.Add(database);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardInput.BaseStream.WriteAsync(script, cancellationToken);
        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellationToken);
        var stderr = await error;
        await output;
        if (process.ExitCode != 0 || stderr.Length > 0)
        {
            throw new InvalidOperationException($"sqlite3 exited {process.ExitCode}: {stderr}");
        }
    }
}

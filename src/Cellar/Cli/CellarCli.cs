using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Data.Sqlite;

namespace Cellar.Cli;

/// <summary>
/// The <c>cellar</c> command line, and the one place that turns errors into exit codes: 0 ok, 1 the
/// operation failed, 2 usage or configuration error. Errors are one line on stderr; <c>--verbose</c> adds
/// the detail.
/// </summary>
internal static class CellarCli
{
    public static readonly Option<string?> ConfigOption = new("--config", "-c")
    {
        Description = "Config file (default: $CELLAR_CONFIG, ./cellar.json, /etc/cellar/cellar.json, else the seed's setup)",
        Recursive = true,
    };

    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Log to stderr and print error details",
        Recursive = true,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        // Before anything can start a process or read them: secrets given in the environment leave it now.
        EnvironmentSecrets.Withdraw();
        var root = new RootCommand("Cellar: consistent online SQLite backups that are verified, pruned and restorable.")
        {
            ConfigOption,
            VerboseOption,
            RunCommand.Create(),
            ListCommand.Create(),
            VerifyCommand.Create(),
            RestoreCommand.Create(),
            PruneCommand.Create(),
            StatusCommand.Create(),
            DemoCommand.Create(),
            ServeCommand.Create(),
            SyncCommand.Create(),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            var messages = string.Join("; ", parsed.Errors.Select(e => e.Message.TrimEnd('.')).Distinct());
            await Console.Error.WriteLineAsync($"cellar: {messages} (see cellar --help)").ConfigureAwait(false);
            return 2;
        }

        // Signals are Cellar's own (Interruption): System.CommandLine's handler would end the process 2 s after SIGTERM,
        // whatever was half-written, and the daemon stops through its host after a grace period of its own.
        using var interruption = new Interruption();
        Interrupted = interruption;
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        var code = await parsed.InvokeAsync(invocation, interruption.Token).ConfigureAwait(false);
        if (interruption.Signal is { } signal && parsed.CommandResult.Command.Name == "serve")
        {
            // The daemon's normal end: it stopped cleanly, a running job was given its grace period.
            await Console.Error.WriteLineAsync($"cellar: stopped on {signal}").ConfigureAwait(false);
        }

        return code;
    }

    /// <summary>The signals of this invocation; a command stopped by one fails with the signal's exit code.</summary>
    private static Interruption? Interrupted { get; set; }

    /// <summary>Wraps a command body with config loading and the error-to-exit-code mapping.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(Func<ParseResult, CliContext, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            var verbose = parse.GetValue(VerboseOption);
            try
            {
                using var context = CliContext.Load(parse.GetValue(ConfigOption), verbose);
                return await body(parse, context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return Fail(e, verbose);
            }
        };

    private static (string Message, int Code) Describe(Exception e) => e switch
    {
        CellarException c => (c.Message, c.ExitCode),
        OperationCanceledException => ("cancelled", 130),
        UnauthorizedAccessException or IOException => (e.Message, 1),
        SqliteException s => ($"SQLite: {s.Message}", 1),
        _ when FileTooLarge.Is(e) => ($"{FileTooLarge.Said}; removed what it was writing", 1),
        _ => ($"unexpected error: {e.GetType().Name}: {e.Message}", 1),
    };

    /// <summary>Prints the one-line error for <paramref name="e"/> and returns its exit code.</summary>
    public static int Fail(Exception e, bool verbose)
    {
        var (message, code) = Interrupted?.Signal is { } signal
            ? ($"interrupted by {signal}{(signal == "SIGXFSZ" ? $" ({FileTooLarge.Said})" : "")}; stopped and removed what it was writing", Interrupted.ExitCode)
            : Describe(e);
        Console.Error.WriteLine($"cellar: {message.ReplaceLineEndings(" ")}");
        if (verbose)
        {
            Console.Error.WriteLine(e.ToString());
        }

        return code;
    }
}

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Cellar.Bench;

/// <summary>The bench's command line.</summary>
internal sealed record BenchOptions(
    IReadOnlyList<int> SizesMiB,
    string OutPath,
    string WorkDir,
    int? Runs,
    int WriterSeconds,
    int BackupTimeoutSeconds,
    int? BusySizeMiB,
    string Suite,
    IReadOnlyList<string> Arguments)
{
    private const int ExitUsage = 2;

    private static readonly string[] Suites = ["backups", "dumps", "logs", "daemon", "offsite", "stream", "history"];

    private static readonly Option<IReadOnlyList<int>> SizesOption = new("--sizes")
    {
        Description = "Database sizes in MiB, comma-separated (for --suite logs: log sizes)",
        Arity = ArgumentArity.ExactlyOne,
        DefaultValueFactory = _ => [50, 1024],
        CustomParser = ParseSizes,
    };

    private static readonly Option<string?> OutOption = new("--out") { Description = "The report to write (default: docs/BENCHMARKS.md in this checkout)" };

    private static readonly Option<string> WorkDirOption = new("--work-dir")
    {
        Description = "An existing folder to generate the databases in",
        DefaultValueFactory = _ => "/var/tmp",
    };

    private static readonly Option<int?> RunsOption = new("--runs")
    {
        Description = "Runs per measurement (default 3 up to 100 MiB, else 1)",
        CustomParser = result => ParsePositive(result),
    };

    private static readonly Option<int> WriterSecondsOption = new("--writer-seconds")
    {
        Description = "How long the load writer runs against a backup",
        DefaultValueFactory = _ => 10,
        CustomParser = ParsePositive,
    };

    private static readonly Option<int> BackupTimeoutOption = new("--backup-timeout")
    {
        Description = "Seconds a backup may take before it counts as failed",
        DefaultValueFactory = _ => 40,
        CustomParser = ParsePositive,
    };

    private static readonly Option<int?> BusySizeOption = new("--busy-size")
    {
        Description = "MiB size from --sizes to run the busy scenario on (default: the largest; 0 = skip it)",
        CustomParser = ParseBusySize,
    };

    private static readonly Option<string> SuiteOption = new("--suite")
    {
        Description = "backups, dumps, logs, daemon, offsite, stream or history (a day of stream history: --sizes STORAGE,RESTORE; all but backups: only that comparison, spliced into its section of the report)",
        DefaultValueFactory = _ => "backups",
        CustomParser = ParseSuite,
    };

    static BenchOptions()
    {
        // A validator, not a parser: it checks the default folder too.
        WorkDirOption.Validators.Add(result =>
        {
            var workDir = result.GetValueOrDefault<string>();
            if (!Directory.Exists(workDir))
            {
                result.AddError($"--work-dir {workDir} does not exist");
            }
        });
    }

    /// <summary>The command that produced the report, as a reader would retype it.</summary>
    public string CommandLine =>
        "dotnet run -c Release --project bench/Cellar.Bench" + (Arguments.Count == 0 ? "" : " -- " + string.Join(' ', Arguments));

    /// <summary>
    /// Parses <paramref name="args"/> and runs <paramref name="bench"/> with them. A usage error is one line per problem on
    /// stderr and exit code 2.
    /// </summary>
    public static Task<int> RunAsync(string[] args, Func<BenchOptions, Task<int>> bench)
    {
        var root = new RootCommand("Cellar's benchmark; writes its report to docs/BENCHMARKS.md")
        {
            SizesOption,
            OutOption,
            WorkDirOption,
            RunsOption,
            WriterSecondsOption,
            BackupTimeoutOption,
            BusySizeOption,
            SuiteOption,
        };

        root.SetAction((parse, _) => bench(From(parse, args)));

        // Paths are taken as given: one starting with @ is not a response file to expand.
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                Console.Error.WriteLine($"Cellar.Bench: {error.Message}");
            }

            return Task.FromResult(ExitUsage);
        }

        // Ctrl+C ends the bench at once (it does not watch a token), and an unexpected exception shows its stack trace.
        return parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
    }

    /// <summary>The checkout this bench belongs to: the nearest folder holding Cellar.slnx, from the current directory or the binary.</summary>
    public static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cellar.slnx")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Cellar.slnx) above the current directory");
    }

    private static BenchOptions From(ParseResult parse, string[] args) => new(
        parse.GetValue(SizesOption)!,
        parse.GetValue(OutOption) ?? Path.Combine(FindRepoRoot(), "docs", "BENCHMARKS.md"),
        Path.GetFullPath(parse.GetValue(WorkDirOption)!),
        parse.GetValue(RunsOption),
        parse.GetValue(WriterSecondsOption),
        parse.GetValue(BackupTimeoutOption),
        parse.GetValue(BusySizeOption),
        parse.GetValue(SuiteOption)!,
        args);

    /// <summary>A comma list of positive MiB counts, sorted and without repeats.</summary>
    private static IReadOnlyList<int> ParseSizes(ArgumentResult result)
    {
        var value = result.Tokens[0].Value;
        var parsed = new List<int>();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib <= 0)
            {
                result.AddError($"--sizes takes MiB counts like 50,1024, not '{value}'");
                return [];
            }

            parsed.Add(mib);
        }

        if (parsed.Count == 0)
        {
            result.AddError("--sizes is empty");
            return [];
        }

        return [.. parsed.Distinct().Order()];
    }

    private static int ParsePositive(ArgumentResult result)
    {
        var value = result.Tokens[0].Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return n;
        }

        result.AddError($"{((OptionResult)result.Parent!).Option.Name} must be a positive number, not '{value}'");
        return 0;
    }

    private static int? ParseBusySize(ArgumentResult result)
    {
        var value = result.Tokens[0].Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var mib))
        {
            return mib;
        }

        result.AddError($"--busy-size must be a MiB count from --sizes (0 = skip), not '{value}'");
        return null;
    }

    private static string ParseSuite(ArgumentResult result)
    {
        var value = result.Tokens[0].Value;
        if (!Suites.Contains(value))
        {
            result.AddError($"--suite must be backups, dumps, logs, daemon, offsite, stream or history, not '{value}'");
        }

        return value;
    }
}

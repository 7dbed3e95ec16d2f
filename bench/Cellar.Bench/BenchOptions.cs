using System.Diagnostics.CodeAnalysis;
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
    public const string Usage =
        "usage: dotnet run -c Release --project bench/Cellar.Bench -- [--sizes 50,1024 (MiB)] [--out docs/BENCHMARKS.md] "
        + "[--work-dir /var/tmp] [--runs N (default 3 up to 100 MiB, else 1)] [--writer-seconds 10] [--backup-timeout 40] "
        + "[--busy-size MIB (default: the largest size; 0 = skip the busy scenario)] "
        + "[--suite backups|dumps|logs|daemon|offsite (dumps, logs, daemon, offsite: only that comparison, spliced into its section of the report; for logs the sizes are log sizes)]";

    /// <summary>The command that produced the report, as a reader would retype it.</summary>
    public string CommandLine =>
        "dotnet run -c Release --project bench/Cellar.Bench" + (Arguments.Count == 0 ? "" : " -- " + string.Join(' ', Arguments));

    public static bool TryParse(string[] args, [NotNullWhen(true)] out BenchOptions? options, [NotNullWhen(false)] out string? error)
    {
        options = null;
        IReadOnlyList<int> sizes = [50, 1024];
        string? outPath = null;
        var workDir = "/var/tmp";
        int? runs = null;
        var writerSeconds = 10;
        var backupTimeout = 40;
        int? busySize = null;
        var suite = "backups";

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"missing value for '{name}'";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--sizes":
                    var parsed = new List<int>();
                    foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib <= 0)
                        {
                            error = $"--sizes takes MiB counts like 50,1024, not '{value}'";
                            return false;
                        }

                        parsed.Add(mib);
                    }

                    if (parsed.Count == 0)
                    {
                        error = "--sizes is empty";
                        return false;
                    }

                    sizes = [.. parsed.Distinct().Order()];
                    break;
                case "--out":
                    outPath = value;
                    break;
                case "--work-dir":
                    workDir = value;
                    break;
                case "--runs":
                    if (!TryPositive(value, out var r))
                    {
                        error = $"--runs must be a positive number, not '{value}'";
                        return false;
                    }

                    runs = r;
                    break;
                case "--writer-seconds":
                    if (!TryPositive(value, out writerSeconds))
                    {
                        error = $"--writer-seconds must be a positive number, not '{value}'";
                        return false;
                    }

                    break;
                case "--backup-timeout":
                    if (!TryPositive(value, out backupTimeout))
                    {
                        error = $"--backup-timeout must be a positive number, not '{value}'";
                        return false;
                    }

                    break;
                case "--busy-size":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                    {
                        error = $"--busy-size must be a MiB count from --sizes (0 = skip), not '{value}'";
                        return false;
                    }

                    busySize = b;
                    break;
                case "--suite" when value is "backups" or "dumps" or "logs" or "daemon" or "offsite":
                    suite = value;
                    break;
                case "--suite":
                    error = $"--suite must be backups, dumps, logs, daemon or offsite, not '{value}'";
                    return false;
                default:
                    error = $"unknown option '{name}'";
                    return false;
            }
        }

        if (!Directory.Exists(workDir))
        {
            error = $"--work-dir {workDir} does not exist";
            return false;
        }

        options = new BenchOptions(
            sizes,
            outPath ?? Path.Combine(FindRepoRoot(), "docs", "BENCHMARKS.md"),
            Path.GetFullPath(workDir),
            runs,
            writerSeconds,
            backupTimeout,
            busySize,
            suite,
            args);
        error = null;
        return true;
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

    private static bool TryPositive(string value, out int result) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result > 0;
}

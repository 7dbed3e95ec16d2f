using Cellar.Core.Catalog;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

using Cellar.Demo;
using Cellar.Tests.Support;

using Microsoft.Data.Sqlite;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// One operator's setup in a temp folder: a sample portfolio database, a config file with a <c>daily</c>
/// snapshot job, a backup root and a log folder; and <c>cellar --config THAT ...</c> as a child process.
/// </summary>
/// <remarks>Over 300 lines on purpose: the one harness every CLI test shares (setup, config, running cellar, reading what it wrote).</remarks>
internal sealed class CliSandbox : IDisposable
{
    public const string TempMarker = ".cellar-tmp-";

    /// <summary>Longer than any run in these tests takes; a run that is not done by then hangs.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    private readonly TempFolder _temp = new();

    private CliSandbox()
    {
        Directory.CreateDirectory(Combine("data"));
        Directory.CreateDirectory(LogDir);
    }

    public string Root => _temp.Path;

    public string Database => Combine("data", "portfolio.sqlite");

    public string BackupRoot => Combine("backups");

    public string LogDir => Combine("logs");

    public string ConfigPath => Combine("cellar.json");

    /// <summary>The folder of the <c>daily</c> job under <see cref="BackupRoot"/>.</summary>
    public string DailyFolder => Path.Combine(BackupRoot, "daily");

    /// <summary>A sandbox whose database is a copy of a sample portfolio database of about <paramref name="databaseBytes"/>.</summary>
    public static async Task<CliSandbox> CreateAsync(long databaseBytes, string compression = "gzip", bool withSocial = false)
    {
        var sandbox = new CliSandbox();
        try
        {
            await SampleDatabases.CopyToAsync(databaseBytes, sandbox.Database);
            sandbox.WriteConfig(compression: compression, withSocial: withSocial);
            return sandbox;
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
    }

    public string Combine(params string[] parts) => _temp.Combine(parts);

    /// <summary>
    /// Writes a config with a <c>daily</c> snapshot job, and with <paramref name="withSocial"/> the seed's <c>social</c>
    /// table dump (to <see cref="ConfigPath"/> unless <paramref name="path"/> is given).
    /// </summary>
    public string WriteConfig(string? database = null, string? backupRoot = null, string compression = "gzip", string? path = null, bool withSocial = false)
    {
        var config = new JsonObject
        {
            ["database"] = database ?? Database,
            ["backupRoot"] = backupRoot ?? BackupRoot,
            ["logDir"] = LogDir,
            ["timeZone"] = "UTC",
            ["jobs"] = new JsonObject
            {
                ["daily"] = new JsonObject
                {
                    ["type"] = "snapshot",
                    ["schedule"] = "0 2 * * *",
                    ["folder"] = "daily",
                    ["fileName"] = "portfolio-{yyyy}-{MM}-{dd}.sqlite",
                    ["keepDays"] = 30,
                    ["keepAtLeast"] = 3,
                    ["compression"] = compression,
                },
            },
        };
        if (withSocial)
        {
            config["jobs"]!["social"] = new JsonObject
            {
                ["type"] = "tables",
                ["schedule"] = "0 3 * * 0",
                ["folder"] = "social",
                ["fileName"] = "social-tables-{yyyy}-{MM}-{dd}.sql",
                ["keepDays"] = 84,
                ["compression"] = compression,
                ["tables"] = new JsonArray("comments", "likes", "reactions", "follows"),
            };
        }

        var target = path ?? ConfigPath;
        File.WriteAllText(target, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return target;
    }

    /// <summary>Sets one setting of <paramref name="job"/> in the config (<c>fullCheck</c>, ...).</summary>
    public void SetJobSetting(string job, string key, string value)
    {
        var config = JsonNode.Parse(File.ReadAllText(ConfigPath))!;
        config["jobs"]![job]![key] = value;
        File.WriteAllText(ConfigPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Runs <c>cellar --config CONFIG ARGS</c> to completion.</summary>
    public Task<CellarRun> CellarAsync(params string[] args) => CellarWithConfigAsync(ConfigPath, args);

    /// <summary>Runs <c>cellar --config <paramref name="configPath"/> ARGS</c> to completion.</summary>
    public static Task<CellarRun> CellarWithConfigAsync(string configPath, params string[] args) => RunAsync(["--config", configPath, .. args]);

    /// <summary>
    /// Runs <c>cellar ARGS</c> to completion, with <paramref name="environment"/> added to its environment and under
    /// <paramref name="wrapper"/> (see <see cref="CellarProcess.Start"/>); a run that hangs is killed and fails the
    /// test instead of stalling the suite.
    /// </summary>
    public static async Task<CellarRun> RunAsync(string[] args, IDictionary<string, string>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        using var process = CellarProcess.Start(args, environment, wrapper);
        process.StandardInput.Close();
        var run = await ChildRun.ToEndAsync(process, RunTimeout);
        if (run.TimedOut)
        {
            Assert.Fail($"cellar {string.Join(' ', args)} did not finish within {RunTimeout.TotalSeconds} s (hung?); stderr so far: {run.Stderr}");
        }

        return new CellarRun(run.ExitCode, run.Stdout, run.Stderr);
    }

    /// <summary>Runs <c>cellar run JOB</c> and returns the backup it printed, failing the test if it failed.</summary>
    public async Task<string> BackupAsync(string job = "daily")
    {
        var run = await CellarAsync("run", job);
        Assert.True(run.ExitCode == 0, $"cellar run {job} failed: {run}");
        var path = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        Assert.True(File.Exists(path), $"cellar run {job} printed {path}, which does not exist");
        return path;
    }

    /// <summary>The paths <c>cellar list --json</c> reports.</summary>
    public async Task<IReadOnlyList<string>> ListedBackupsAsync()
    {
        var run = await CellarAsync("list", "--json");
        Assert.True(run.ExitCode == 0, $"cellar list --json failed: {run}");
        using var json = JsonDocument.Parse(run.Stdout);
        return json.RootElement.EnumerateArray().Select(item => item.GetProperty("path").GetString()!).ToList();
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Every file under <paramref name="folder"/> (recursively) whose name marks it as a Cellar temp file.</summary>
    public static IReadOnlyList<string> TempFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).Contains(TempMarker, StringComparison.Ordinal)).ToList()
            : [];

    public static void AssertNoTempFiles(string folder)
    {
        var left = TempFiles(folder);
        Assert.True(left.Count == 0, $"temp files left in {folder}: {string.Join(", ", left)}");
    }

    /// <summary>SHA-256 of every file under a final name (not starting with '.') below <paramref name="folder"/>, by relative path.</summary>
    public static IReadOnlyDictionary<string, string> Fingerprint(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .ToDictionary(f => Path.GetRelativePath(folder, f), HashOf, StringComparer.Ordinal);

    /// <summary>Puts a file with the same bytes under a new inode at <paramref name="path"/>: only an identity check can tell.</summary>
    public static void ReplaceWithSameBytes(string path)
    {
        var impostor = path + ".impostor";
        File.Copy(path, impostor);
        File.Move(impostor, path, overwrite: true);
    }

    /// <summary>Inverts the byte at <paramref name="offset"/>: bit rot, a bad sector, tampering.</summary>
    public static void FlipByte(string path, long offset)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0xFF));
    }

    public static string HashOf(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Asserts the error contract: the exit code, and exactly one stderr line starting "cellar: ".</summary>
    public static void AssertOneLineError(CellarRun run, int exitCode, params string[] mentions)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(run.ToString());
        Assert.True(run.ExitCode == exitCode, $"expected exit {exitCode}: {run}");
        Assert.True(run.StderrLines.Length == 1, $"expected one stderr line: {run}");
        Assert.StartsWith("cellar: ", run.StderrLines[0], StringComparison.Ordinal);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, run.StderrLines[0], StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The file is a sound database with exactly the row counts the backup's sidecar recorded.</summary>
    public static void AssertHoldsBackup(string database, string backup)
    {
        var sidecar = Sidecar.TryRead(backup) ?? throw new InvalidOperationException($"{backup} has no sidecar");
        using var connection = Open(database);
        Assert.Equal("ok", Scalar(connection, "PRAGMA integrity_check"));
        Assert.NotEmpty(sidecar.RowCounts);
        foreach (var (table, rows) in sidecar.RowCounts)
        {
            Assert.Equal(rows, Scalar(connection, $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\""));
        }
    }

    /// <summary>Opens a database file the way an app would, without pooling so no handle outlives the test's use.</summary>
    public static SqliteConnection Open(string path, bool readOnly = true)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Runs a program (no shell) and returns its exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> ExecAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}

/// <summary>
/// Sample portfolio databases, generated once per size per test run (generation is deterministic) and copied
/// into each test's folder.
/// </summary>
internal static class SampleDatabases
{
    private static readonly string Folder = Path.Combine(Path.GetTempPath(), $"cellar-cli-samples-{Environment.ProcessId}");
    private static readonly ConcurrentDictionary<long, Lazy<Task<string>>> Made = new();

    static SampleDatabases()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(Folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
    }

    /// <summary>Copies the sample database of about <paramref name="bytes"/> to <paramref name="target"/> (a new file).</summary>
    public static async Task CopyToAsync(long bytes, string target)
    {
        var source = await Made.GetOrAdd(bytes, b => new Lazy<Task<string>>(() => MakeAsync(b))).Value;
        File.Copy(source, target, overwrite: false);
    }

    private static async Task<string> MakeAsync(long bytes)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, $"portfolio-{bytes}.sqlite");

        // Not the test's token: other tests share this file, so one cancelled test must not spoil it.
        await PortfolioDatabase.CreateAsync(path, bytes, CancellationToken.None);
        return path;
    }
}

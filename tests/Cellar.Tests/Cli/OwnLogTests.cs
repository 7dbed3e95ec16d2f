using System.Text.Json.Nodes;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Cellar's own records (<c>backup.log</c>, <c>maintenance.log</c> in <c>logDir</c>) are kept even when the folder is
/// missing, and what cannot be recorded is said; <c>cellar verify</c> records its results there too.
/// </summary>
public sealed class OwnLogTests
{
    private const long DatabaseBytes = 1 << 20;

    [Fact]
    public async Task A_prune_with_the_log_folder_missing_creates_it_and_leaves_its_record()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var expired = PlantExpiredBackups(sandbox, 11);
        Directory.Delete(sandbox.LogDir, recursive: true);

        var run = await sandbox.CellarAsync("prune");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(0, Directory.EnumerateFiles(sandbox.DailyFolder).Count(f => expired.Contains(f)));
        var log = await File.ReadAllTextAsync(Path.Combine(sandbox.LogDir, "maintenance.log"), TestContext.Current.CancellationToken);
        Assert.All(expired, path => Assert.Contains($"deleted {path}", log, StringComparison.Ordinal));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(sandbox.LogDir));
    }

    [Fact]
    public async Task A_log_folder_that_cannot_be_made_is_said_once_in_one_line_and_the_run_still_succeeds()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var expired = PlantExpiredBackups(sandbox, 3);
        var blocker = sandbox.Combine("not-a-folder");
        await File.WriteAllTextAsync(blocker, "a file where the log folder's parent should be", TestContext.Current.CancellationToken);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken))!;
        config["logDir"] = Path.Combine(blocker, "logs");
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), TestContext.Current.CancellationToken);

        var run = await sandbox.CellarAsync("prune");

        Assert.True(run.ExitCode == 0, run.ToString());
        var said = run.StderrLines.Where(l => l.Contains(Path.Combine(blocker, "logs"), StringComparison.Ordinal)).ToList();
        Assert.True(said.Count == 1, $"expected one line about the log folder: {run}");
        Assert.StartsWith("cellar: cannot write Cellar's log", said[0], StringComparison.Ordinal);
        Assert.All(expired, path => Assert.False(File.Exists(path)));
    }

    [Fact]
    public async Task Verify_records_each_file_with_its_result_and_the_summary_in_maintenance_log()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var good = await sandbox.BackupAsync();
        var bad = await sandbox.BackupAsync();
        using (var stream = new FileStream(bad, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            var value = stream.ReadByte();
            stream.Position = stream.Length / 2;
            stream.WriteByte((byte)(value ^ 0xFF));
        }

        var run = await sandbox.CellarAsync("verify");

        Assert.True(run.ExitCode == 1, run.ToString());
        var log = File.ReadAllLines(Path.Combine(sandbox.LogDir, "maintenance.log"));
        Assert.Single(log, l => l.Contains(" info  verify: " + good + " ok", StringComparison.Ordinal));
        var badLine = Assert.Single(log, l => l.Contains(" error verify: " + bad + " is bad: ", StringComparison.Ordinal));
        Assert.Contains(run.StderrLines.Single(l => l.StartsWith("BAD ", StringComparison.Ordinal)).Split(": ", 2)[1], badLine, StringComparison.Ordinal);
        Assert.Single(log, l => l.EndsWith(" info  verify: 1 ok, 1 bad", StringComparison.Ordinal));
    }

    /// <summary>
    /// Backups of the daily job named for days long past its keepDays (no sidecars: aged by their names), and three
    /// newer ones that keepAtLeast keeps; returns the ones a prune deletes.
    /// </summary>
    private static List<string> PlantExpiredBackups(CliSandbox sandbox, int count)
    {
        Directory.CreateDirectory(sandbox.DailyFolder);
        var planted = new List<string>();
        for (var day = 1; day <= count + 3; day++)
        {
            var path = Path.Combine(sandbox.DailyFolder, $"portfolio-2020-01-{day:D2}.sqlite.gz");
            File.WriteAllBytes(path, [0x1f, 0x8b]);
            planted.Add(path);
        }

        return planted[..count];
    }
}

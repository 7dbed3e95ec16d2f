using System.Text.RegularExpressions;

using Cellar.Core.Catalog;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary><c>restore --at</c> takes a time exactly as <c>cellar list</c> shows it (to the second) and means that backup.</summary>
public sealed partial class RestoreAtListedTimeTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task Restore_at_the_time_list_shows_for_a_backup_restores_that_backup()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var older = await sandbox.BackupAsync();
        var newer = await sandbox.BackupAsync();
        Assert.SkipWhen(
            Sidecar.TryRead(newer)!.Created.Ticks % TimeSpan.TicksPerSecond == 0,
            "the backup was made on a whole second, where a time to the second is exact anyway");

        var list = await sandbox.CellarAsync("list", "daily");
        Assert.True(list.ExitCode == 0, list.ToString());
        var row = Assert.Single(list.Stdout.Split('\n'), l => l.Contains(newer, StringComparison.Ordinal));
        var shown = ListedTime().Match(row).Value;
        Assert.NotEmpty(shown);
        var target = sandbox.Combine("restored.sqlite");

        var run = await sandbox.CellarAsync("restore", "--at", shown, "--to", target);

        Assert.True(run.ExitCode == 0, $"restore --at '{shown}' (list: {row.Trim()}, older backup {older}): {run}");
        Assert.Contains($"restored {newer}", run.Stderr, StringComparison.Ordinal);
        CliSandbox.AssertHoldsBackup(target, newer);
    }

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")]
    private static partial Regex ListedTime();
}

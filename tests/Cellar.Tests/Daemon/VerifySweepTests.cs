using Cellar.Core.Configuration;
using Cellar.Core.Verification;
using Cellar.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Daemon;

public sealed class VerifySweepTests
{
    [Fact]
    public async Task The_scheduled_sweep_finds_a_rotten_backup_and_a_spent_budget_still_checks_the_newest()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var older = await sandbox.BackupAsync();
        var newer = await sandbox.BackupAsync();
        var bytes = await File.ReadAllBytesAsync(older, ct);
        bytes[bytes.Length / 2] ^= 0x10;
        await File.WriteAllBytesAsync(older, bytes, ct);
        var config = ConfigLoader.Load(sandbox.ConfigPath);

        var full = await VerifySweep.RunAsync(config, TimeProvider.System, TimeSpan.FromHours(1), NullLogger.Instance, ct);
        var spent = await VerifySweep.RunAsync(config, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance, ct);

        Assert.Equal((2, 2), (full.Checked, full.Total));
        Assert.Equal(older, Assert.Single(full.Bad).Path);
        Assert.Equal(1, spent.Checked);
        Assert.Empty(spent.Bad); // the newest, which is sound
        Assert.NotEqual(older, newer);
    }

    [Fact]
    public async Task The_verify_schedule_defaults_to_weekly_and_can_be_turned_off()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var defaults = ConfigLoader.Load(sandbox.ConfigPath);
        var text = (await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken)).Replace("\"timeZone\"", "\"verifySchedule\": \"off\", \"timeZone\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(sandbox.ConfigPath, text, TestContext.Current.CancellationToken);

        Assert.Equal(DayOfWeek.Sunday, defaults.VerifySchedule!.GetNextOccurrence(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc)!.Value.DayOfWeek);
        Assert.Null(ConfigLoader.Load(sandbox.ConfigPath).VerifySchedule);
    }
}

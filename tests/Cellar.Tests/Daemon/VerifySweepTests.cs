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
    public async Task Backups_awaiting_their_full_check_get_it_first_whatever_the_budget_and_the_full_checks_take_only_those()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var oldest = await sandbox.BackupAsync();
        var config = ConfigLoader.Load(sandbox.ConfigPath);
        Assert.Equal(1, (await VerifySweep.FullChecksAsync(config, TimeProvider.System, NullLogger.Instance, ct)).Checked);
        await sandbox.BackupAsync();
        await sandbox.BackupAsync();

        // The two new ones wait; the oldest passed its full check already, so the full checks leave it alone.
        var full = await VerifySweep.FullChecksAsync(config, TimeProvider.System, NullLogger.Instance, ct);
        Assert.Equal((2, 3), (full.Checked, full.Total));
        Assert.Equal(0, (await VerifySweep.FullChecksAsync(config, TimeProvider.System, NullLogger.Instance, ct)).Checked);

        // A pass with its budget spent still checks every backup still waiting, then stops.
        await sandbox.BackupAsync();
        var newest = await sandbox.BackupAsync();
        var spent = await VerifySweep.RunAsync(config, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance, ct);
        Assert.Equal(2, spent.Checked);
        Assert.DoesNotContain(Cellar.Core.Catalog.BackupCatalog.List(config.FindJob("daily"), TimeZoneInfo.Utc), e => e.AwaitingFullCheck);
        Assert.NotEqual(oldest, newest);
    }

    [Fact]
    public async Task The_verify_schedule_defaults_to_daily_at_half_past_four_and_can_be_turned_off()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var defaults = ConfigLoader.Load(sandbox.ConfigPath);
        var text = (await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken)).Replace("\"timeZone\"", "\"verifySchedule\": \"off\", \"timeZone\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(sandbox.ConfigPath, text, TestContext.Current.CancellationToken);

        var from = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(from.AddHours(4.5), defaults.VerifySchedule!.GetNextOccurrence(from, TimeZoneInfo.Utc));
        Assert.Equal(from.AddDays(1).AddHours(4.5), defaults.VerifySchedule.GetNextOccurrence(from.AddHours(5), TimeZoneInfo.Utc));
        Assert.Null(ConfigLoader.Load(sandbox.ConfigPath).VerifySchedule);
    }
}

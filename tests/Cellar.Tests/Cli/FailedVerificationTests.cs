using System.IO.Compression;
using System.Text.Json;
using Cellar.Core.Catalog;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// A backup that was proven when written and rotted since: once a check finds it bad, every view says so and every
/// choice avoids it: list, status, restore --latest and --at.
/// </summary>
public sealed class FailedVerificationTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task A_backup_that_fails_verify_is_shown_as_failed_and_restore_latest_takes_the_previous_good_one()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var good = await sandbox.BackupAsync();
        var rotten = await sandbox.BackupAsync();
        CliSandbox.FlipByte(rotten, new FileInfo(rotten).Length / 2);

        var verify = await sandbox.CellarAsync("verify", rotten);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("checksum mismatch", verify.Stderr, StringComparison.Ordinal);

        var list = await sandbox.CellarAsync("list", "--json");
        using (var json = JsonDocument.Parse(list.Stdout))
        {
            var item = json.RootElement.EnumerateArray().Single(i => i.GetProperty("path").GetString() == rotten);
            Assert.False(item.GetProperty("verified").GetBoolean());
            Assert.Contains("failed verification", item.GetProperty("problem").GetString(), StringComparison.Ordinal);
            Assert.Contains("checksum mismatch", item.GetProperty("problem").GetString(), StringComparison.Ordinal);
        }

        var status = await sandbox.CellarAsync("status", "--json");
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var daily = json.RootElement.EnumerateArray().Single();
            Assert.False(daily.GetProperty("newestVerified").GetBoolean());
            Assert.Contains(rotten, Assert.Single(daily.GetProperty("failedVerification").EnumerateArray()).GetString(), StringComparison.Ordinal);
        }

        var target = sandbox.Combine("restored.sqlite");
        var restore = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains(good, restore.Stderr, StringComparison.Ordinal);
        CliSandbox.AssertHoldsBackup(target, good);

        var at = await sandbox.CellarAsync("restore", "--at", TimeProvider.System.GetUtcNow().AddMinutes(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture), "--to", sandbox.Combine("at.sqlite"));
        Assert.True(at.ExitCode == 0, at.ToString());
        Assert.Contains(good, at.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_latest_of_a_backup_rotted_since_its_last_check_marks_it_failed_and_restores_the_one_before()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var good = await sandbox.BackupAsync();
        var rotten = await sandbox.BackupAsync();
        CliSandbox.FlipByte(rotten, new FileInfo(rotten).Length / 2);
        var target = sandbox.Combine("restored.sqlite");

        var restore = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);

        Assert.True(restore.ExitCode == 0, restore.ToString());
        var warning = Assert.Single(restore.StderrLines, l => l.StartsWith("cellar: warning:", StringComparison.Ordinal));
        Assert.Contains(rotten, warning, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", warning, StringComparison.Ordinal);
        Assert.Contains(good, warning, StringComparison.Ordinal);
        CliSandbox.AssertHoldsBackup(target, good);
        var list = await sandbox.CellarAsync("list");
        Assert.Contains("failed verification", Assert.Single(list.Stdout.Split('\n'), l => l.Contains(rotten, StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task A_flipped_byte_is_called_a_checksum_mismatch_not_a_decompressor_error(string compression)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, compression);
        var backup = await sandbox.BackupAsync();

        // Early in the stream, where the decompressor trips over it before any hash is compared.
        CliSandbox.FlipByte(backup, 64);
        var verify = await sandbox.CellarAsync("verify", backup);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("checksum mismatch", verify.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decompression_bomb_beside_a_forged_sidecar_stops_at_the_size_the_sidecar_records()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var real = await sandbox.BackupAsync();
        var sidecar = Sidecar.TryRead(real)!;

        // 256 MiB of zeros in a few hundred KiB, with a sidecar that matches the small file.
        var bomb = Path.Combine(sandbox.DailyFolder, "portfolio-2001-01-01.sqlite.gz");
        await using (var file = File.Create(bomb))
        await using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 256; i++)
            {
                gzip.Write(zeros);
            }
        }

        (sidecar with { Sha256 = CliSandbox.HashOf(bomb), SizeBytes = new FileInfo(bomb).Length, Created = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero) }).Write(bomb);
        var verify = await sandbox.CellarAsync("verify", bomb);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains($"more than the {sidecar.SourceBytes} bytes", verify.Stderr, StringComparison.Ordinal);
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Verifying_or_restoring_a_file_outside_backup_folders_creates_nothing_beside_it()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var elsewhere = sandbox.Combine("elsewhere");
        Directory.CreateDirectory(elsewhere);
        var copy = Path.Combine(elsewhere, Path.GetFileName(backup));
        File.Copy(backup, copy);
        File.Copy(Sidecar.PathFor(backup), Sidecar.PathFor(copy));

        var verify = await sandbox.CellarAsync("verify", copy);
        var restore = await sandbox.CellarAsync("restore", copy, "--to", sandbox.Combine("restored.sqlite"));

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal([Path.GetFileName(copy), Path.GetFileName(Sidecar.PathFor(copy))], Directory.EnumerateFiles(elsewhere).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_corrupt_sidecar_is_one_line_in_list()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        await File.WriteAllTextAsync(Sidecar.PathFor(backup), "{\n  \"job\": \"daily\",\n  \"created\": 42\n}", TestContext.Current.CancellationToken);

        var list = await sandbox.CellarAsync("list");

        Assert.True(list.ExitCode == 0, list.ToString());
        var row = Assert.Single(list.Stdout.Split('\n'), l => l.Contains("sidecar", StringComparison.Ordinal));
        Assert.Contains("line", row, StringComparison.Ordinal);
        Assert.DoesNotContain("Path: $", list.Stdout, StringComparison.Ordinal);
    }
}

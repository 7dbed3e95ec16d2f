using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>Damage to a stored backup (bit rot, truncation, a lost sidecar) is caught by <c>cellar verify</c> and stops a restore.</summary>
public sealed class CorruptionTests
{
    private const long DatabaseBytes = 3 << 20;

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("none")]
    public async Task One_flipped_byte_fails_verify_naming_the_file_and_only_that_file(string compression)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, compression);
        var good = await sandbox.BackupAsync();
        var bad = await sandbox.BackupAsync();

        CliSandbox.FlipByte(bad, new FileInfo(bad).Length / 2);
        var verifyAll = await sandbox.CellarAsync("verify");

        Assert.True(verifyAll.ExitCode == 1, verifyAll.ToString());
        Assert.Contains(bad, verifyAll.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(good, verifyAll.Stderr, StringComparison.Ordinal);
        Assert.Contains($"ok   {good}", verifyAll.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_of_one_corrupted_file_exits_1()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();

        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);
        var run = await sandbox.CellarAsync("verify", backup);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(backup, run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("none")]
    public async Task Restore_refuses_a_corrupted_backup_and_creates_no_target(string compression)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, compression);
        var backup = await sandbox.BackupAsync();
        var restoreFolder = sandbox.Combine("restored");
        Directory.CreateDirectory(restoreFolder);
        var target = Path.Combine(restoreFolder, "portfolio.sqlite");

        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);
        var run = await sandbox.CellarAsync("restore", backup, "--to", target);

        Assert.True(run.ExitCode != 0, run.ToString());
        CliSandbox.AssertOneLineError(run, run.ExitCode, "refus");
        Assert.False(File.Exists(target), $"{target} was created from a corrupted backup");
        Assert.Empty(Directory.EnumerateFileSystemEntries(restoreFolder));
    }

    [Fact]
    public async Task Truncated_backup_fails_verify_naming_the_file()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();

        using (var stream = new FileStream(backup, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length / 2);
        }

        var run = await sandbox.CellarAsync("verify");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(backup, run.Stderr, StringComparison.Ordinal);
        Assert.Contains("truncated", run.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Backup_whose_sidecar_was_deleted_fails_verify_naming_the_file()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();

        File.Delete(backup + ".json");
        var run = await sandbox.CellarAsync("verify");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(backup, run.Stderr, StringComparison.Ordinal);
        Assert.Contains("sidecar", run.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Restore_refuses_a_truncated_backup()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var target = sandbox.Combine("restored.sqlite");

        using (var stream = new FileStream(backup, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length - 100);
        }

        var run = await sandbox.CellarAsync("restore", backup, "--to", target);

        Assert.True(run.ExitCode != 0, run.ToString());
        CliSandbox.AssertOneLineError(run, run.ExitCode, "refus");
        Assert.False(File.Exists(target));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }
}

using System.Diagnostics;
using System.Globalization;
using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// A table restore works inside the live database while the app runs: it must refuse the one way of running that loses
/// the app's commits (the database open by another name), and one that changes nothing must leave nothing behind.
/// </summary>
public sealed class TableRestoreSafetyTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task A_table_restore_while_the_app_writes_through_a_hard_link_is_refused_and_its_commits_stay()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        await sandbox.BackupAsync("social");
        var elsewhere = sandbox.Combine("mounted");
        Directory.CreateDirectory(elsewhere);
        var link = Path.Combine(elsewhere, "portfolio.sqlite");
        Assert.Equal(0, UnixFiles.Link(sandbox.Database, link));
        await using var writer = await LoadWriterProcess.StartAsync(link, "wal", 200, ct);

        var run = await sandbox.CellarAsync("restore", "--latest", "social", "--to", sandbox.Database, "--tables", "comments");

        CliSandbox.AssertOneLineError(run, 1, $"process {writer.Pid} ", link);
        Assert.Empty(Directory.EnumerateFiles(sandbox.Combine("data"), "*.pre-restore-*"));
        var stats = await writer.StopAsync(ct);
        Assert.True(stats.Commits > 0);
        using var app = CliSandbox.Open(link);
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }

    [Fact]
    public async Task A_table_restore_that_rolls_back_leaves_no_safety_copy_and_no_new_database()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        await sandbox.BackupAsync("social");
        var fresh = sandbox.Combine("fresh.sqlite");

        // Comments point at users, which a fresh database lacks: the foreign-key check rolls the restore back.
        var run = await sandbox.CellarAsync("restore", "--latest", "social", "--to", fresh, "--tables", "comments");

        CliSandbox.AssertOneLineError(run, 1, "rolled back");
        Assert.False(File.Exists(fresh), $"{fresh} was left behind by a restore that changed nothing");
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "fresh.sqlite*"));
    }

    [Fact]
    public async Task A_table_restore_stopped_by_a_signal_after_its_safety_copy_leaves_no_copy_and_the_database_as_it_was()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(40L << 20, withSocial: true);
        await sandbox.BackupAsync("social");
        var before = CliSandbox.HashOf(sandbox.Database);
        var data = sandbox.Combine("data");

        using var process = CellarProcess.Start(["--config", sandbox.ConfigPath, "restore", "--latest", "social", "--to", sandbox.Database]);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(ct);
        var clock = Stopwatch.StartNew();
        while (!Directory.EnumerateFiles(data, "*pre-restore*").Any())
        {
            Assert.False(process.HasExited, "the restore ended before it made its safety copy");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no safety copy within 60 s");
            await Task.Delay(5, ct);
        }

        await Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExitAsync(ct);
        await process.WaitForExitAsync(ct);

        Assert.True(process.ExitCode is 143 or 0, $"exit {process.ExitCode}: {await stderr}");
        if (process.ExitCode == 143)
        {
            Assert.Empty(Directory.EnumerateFiles(data, "*pre-restore*"));
            Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        }
    }
}

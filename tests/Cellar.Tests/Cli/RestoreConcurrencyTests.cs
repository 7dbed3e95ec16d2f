using System.Diagnostics;

using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Restores into one folder at once take turns: each succeeds and says what it restored, the last one's backup ends
/// in place, every database it replaced is kept, nothing is left behind, and one that has to wait says so.
/// </summary>
public sealed class RestoreConcurrencyTests
{
    private const long DatabaseBytes = 3 << 20;

    /// <summary>Large enough that each restore's verification lasts until the others have started.</summary>
    private const long OverlappingBytes = 40L << 20;

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Three_concurrent_forced_restores_to_one_path_all_succeed_and_keep_every_database_they_replace()
    {
        using var sandbox = await CliSandbox.CreateAsync(OverlappingBytes);
        var backups = new List<string>();
        for (var generation = 1; generation <= 3; generation++)
        {
            AddGeneration(sandbox.Database, generation);
            backups.Add(await sandbox.BackupAsync());
        }

        var target = sandbox.Combine("app.sqlite");
        File.Copy(sandbox.Database, target);
        AddGeneration(target, 4);

        var runs = await Task.WhenAll(backups.Select(b => sandbox.CellarAsync("restore", b, "--to", target, "--force")));

        for (var i = 0; i < runs.Length; i++)
        {
            Assert.True(runs[i].ExitCode == 0, runs[i].ToString());
            Assert.Contains($"restored {backups[i]}", runs[i].Stderr, StringComparison.Ordinal);
        }

        CliSandbox.AssertNoTempFiles(sandbox.Root);
        var kept = Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*").ToList();
        Assert.Equal(3, kept.Count);
        var generations = kept.Select(GenerationOf).Append(GenerationOf(target)).Order().ToList();
        Assert.Equal([1L, 2L, 3L, 4L], generations);
        CliSandbox.AssertHoldsBackup(target, backups[(int)GenerationOf(target) - 1]);
    }

    [Theory]
    [InlineData("daily")]
    [InlineData("social")]
    public async Task A_restore_into_a_folder_another_restore_holds_says_it_waits_and_goes_on_once_released(string job)
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var (backup, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true, job: job);
        var before = CliSandbox.HashOf(target);

        // Another restore holds the folder's lock (flock(1) on the folder itself, as Cellar takes it) until released.
        var hold = new ProcessStartInfo("flock") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { sandbox.Root, "sh", "-c", "echo locked; cat" })
        {
            hold.ArgumentList.Add(arg);
        }

        using var holder = Process.Start(hold)!;
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync(ct));

        using var restore = CellarProcess.Start(["--config", sandbox.ConfigPath, "restore", backup, "--to", target, "--force"]);
        restore.StandardInput.Close();
        var stdout = restore.StandardOutput.ReadToEndAsync(ct);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(WaitLimit);
            string? line;
            do
            {
                line = await restore.StandardError.ReadLineAsync(timeout.Token);
            }
            while (line is not null && !line.StartsWith("cellar: waiting for another restore", StringComparison.Ordinal));

            Assert.NotNull(line);
            Assert.StartsWith($"cellar: waiting for another restore into {sandbox.Root} (pid {holder.Id}, ", line, StringComparison.Ordinal);
            Assert.EndsWith(") to finish; giving up after 30 min", line, StringComparison.Ordinal);
        }

        await Task.Delay(500, ct);
        Assert.False(restore.HasExited, "the restore did not wait for the lock");
        Assert.True(before == CliSandbox.HashOf(target), "the restore went on while another held the folder");
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        holder.StandardInput.Close();
        await holder.WaitForExitAsync(ct);

        var rest = await restore.StandardError.ReadToEndAsync(ct);
        await restore.WaitForExitAsync(ct);
        Assert.True(restore.ExitCode == 0, rest);
        Assert.Contains(backup, rest, StringComparison.Ordinal);
        Assert.Equal(target, (await stdout).Trim());
        CliSandbox.AssertHoldsBackup(target, backup);
    }

    private static void AddGeneration(string database, int generation)
    {
        using var db = CliSandbox.Open(database, readOnly: false);
        CliSandbox.Scalar(db, $"CREATE TABLE IF NOT EXISTS generation (n INTEGER NOT NULL); INSERT INTO generation VALUES ({generation});");
    }

    private static long GenerationOf(string database)
    {
        using var db = CliSandbox.Open(database);
        return (long)CliSandbox.Scalar(db, "SELECT max(n) FROM generation")!;
    }
}

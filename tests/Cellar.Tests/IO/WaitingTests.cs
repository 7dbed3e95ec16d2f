using System.Diagnostics;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Cellar.Tests.Cli;
using Cellar.Tests.Restore;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.IO;

/// <summary>A command that has to wait (behind the daemon, behind a writer) says what it waits for, and for how long at most.</summary>
public sealed class WaitingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_run_behind_another_says_which_process_it_waits_for_and_goes_on_once_it_is_done()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        Directory.CreateDirectory(sandbox.DailyFolder);
        var held = await FolderLock.AcquireAsync(sandbox.DailyFolder, TimeProvider.System, ct);
        using var run = CellarProcess.Start(["--config", sandbox.ConfigPath, "run", "daily"]);
        run.StandardInput.Close();
        var stdout = run.StandardOutput.ReadToEndAsync(ct);

        // Held until the run says what it waits for, however long a loaded machine takes to start it.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        string? notice;
        do
        {
            notice = await run.StandardError.ReadLineAsync(deadline.Token);
        }
        while (notice is not null && !notice.StartsWith("cellar: waiting for", StringComparison.Ordinal));

        held.Dispose();
        var rest = await run.StandardError.ReadToEndAsync(ct);
        await run.WaitForExitAsync(ct);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {rest}");
        Assert.NotNull(notice);
        Assert.Contains($"pid {Environment.ProcessId}", notice, StringComparison.Ordinal);
        Assert.Contains(sandbox.DailyFolder, notice, StringComparison.Ordinal);
        Assert.Contains("giving up after 30 min", notice, StringComparison.Ordinal);
        Assert.NotEmpty(await stdout);
    }

    [Fact]
    public async Task A_snapshot_kept_off_by_a_writer_says_so_once_it_has_waited_a_second()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("app.sqlite");
        using var writer = new SqliteConnection($"Data Source={database};Pooling=False");
        writer.Open();
        using (var create = writer.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode=DELETE; CREATE TABLE t(x); INSERT INTO t VALUES (1); BEGIN EXCLUSIVE; INSERT INTO t VALUES (2);";
            create.ExecuteNonQuery();
        }

        var log = new RecordingLogger<WaitingTests>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var copy = SqliteSnapshot.CopyAsync(database, _temp.Combine("copy.sqlite"), TimeProvider.System, null, log, stop.Token);
        var clock = Stopwatch.StartNew();
        while (log.Entries.Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50, ct);
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy);
        var notice = Assert.Single(log.Entries).Message;
        Assert.StartsWith($"waiting for {database}: a writer (", notice, StringComparison.Ordinal);
        Assert.EndsWith(") holds its lock (rollback journal); giving up after 60 s", notice, StringComparison.Ordinal);
    }
}

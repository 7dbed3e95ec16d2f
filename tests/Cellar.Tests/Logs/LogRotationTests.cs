using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Logs;
using Cellar.Core.Offsite;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// Rotation under a real writer process appending numbered lines as fast as it can: after every rotation, all
/// archives followed by the live file (past what its state says is already archived) hold every number exactly
/// once, in order, with no NUL byte.
/// </summary>
/// <remarks>Over 300 lines on purpose: every test runs the same real writer and checks the same invariant, which the helpers at the end hold.</remarks>
[Collection(LogJobs.Collection)]
public sealed class LogRotationTests : IDisposable
{
    private const int Rotations = 20;
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        CollapseProbe.Disabled = false;
        _temp.Dispose();
    }

    [Fact]
    public async Task An_appending_writer_loses_no_line_over_20_collapse_rotations()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = WriteConfig([log]);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        await using var writer = await LogWriterProcess.StartAsync(log, ct);
        var methods = new List<RotationMethod?>();
        for (var i = 0; i < Rotations; i++)
        {
            await Task.Delay(30, ct);
            var result = await runner.RunAsync("logs", null, null, ct);
            methods.Add(Assert.Single(result.Logs).Method);
        }

        var (lines, rate) = await writer.StopAsync(ct);

        Assert.True(rate > 10_000, $"the writer managed only {rate:0} lines/s");
        Assert.All(methods, m => Assert.Equal(RotationMethod.Collapse, m));
        LogJobs.AssertEveryLineOnce(config.FindJob("logs"), log, lines);
    }

    [Fact]
    public async Task Where_collapse_is_unsupported_the_signal_fallback_loses_no_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = _temp.Combine("logs");
        using var tmpfs = Environment.IsPrivilegedProcess ? await Mount.TmpfsAsync(folder, "size=64m") : null;
        if (tmpfs is null)
        {
            // Not root (or no mount here): the same path, with collapse failing as on tmpfs.
            Directory.CreateDirectory(folder);
            CollapseProbe.Disabled = true;
        }

        var log = Path.Combine(folder, "backend.log");
        var pidFile = _temp.Combine("backend.pid");
        var config = WriteConfig([log], pidFile);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        await using var writer = await LogWriterProcess.StartAsync(log, ct, "--reopen-on-hup", "--pid-file", pidFile);
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(50, ct);
            var result = await runner.RunAsync("logs", null, null, ct);
            Assert.Equal(RotationMethod.Signal, Assert.Single(result.Logs).Method);
        }

        var (lines, _) = await writer.StopAsync(ct);

        LogJobs.AssertEveryLineOnce(config.FindJob("logs"), log, lines);
        Assert.False(File.Exists(log + ".cellar-rotating"));
    }

    [Fact]
    public async Task With_only_copytruncate_left_lines_stay_in_order_without_repeats_or_NULs_and_the_loss_window_is_reported()
    {
        var ct = TestContext.Current.CancellationToken;
        CollapseProbe.Disabled = true;
        var log = _temp.Combine("backend.log");
        var config = WriteConfig([log]);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        await using var writer = await LogWriterProcess.StartAsync(log, ct);
        var outcomes = new List<LogOutcome>();
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(30, ct);
            outcomes.Add(Assert.Single((await runner.RunAsync("logs", null, null, ct)).Logs));
        }

        await writer.StopAsync(ct);

        Assert.All(outcomes, o => Assert.Equal(RotationMethod.CopyTruncate, o.Method));
        Assert.All(outcomes, o => Assert.Contains("lost", o.Warning, StringComparison.Ordinal));
        // A line being written at the truncate can be cut short (copytruncate's loss): it stays on a line of its own.
        var numbers = LogJobs.ArchivedThenLive(config.FindJob("logs"), log).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Length == 10).Select(long.Parse).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
        Assert.False(File.Exists(log + ".cellar-rotating"));
    }

    [Fact]
    public async Task The_signal_fallback_can_ask_the_app_over_http_to_reopen_its_log()
    {
        var ct = TestContext.Current.CancellationToken;
        CollapseProbe.Disabled = true;
        var log = _temp.Combine("backend.log");
        await using var writer = await LogWriterProcess.StartAsync(log, ct, "--reopen-on-hup");

        // The app's admin endpoint: on POST it reopens its log (here by passing the request on as SIGHUP).
        using var app = new System.Net.HttpListener();
        var port = LoopbackPort.Free();
        app.Prefixes.Add($"http://127.0.0.1:{port}/admin/reopen-logs/");
        app.Start();
        var requests = 0;
        var serving = Task.Run(async () =>
        {
            while (app.IsListening)
            {
                var context = await app.GetContextAsync();
                Interlocked.Increment(ref requests);
                System.Diagnostics.Process.Start("kill", ["-HUP", writer.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
                context.Response.StatusCode = 204;
                context.Response.Close();
            }
        }, ct);

        var config = WriteConfig([log], reopenUrl: $"http://127.0.0.1:{port}/admin/reopen-logs/");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(50, ct);
            Assert.Equal(RotationMethod.Signal, Assert.Single((await runner.RunAsync("logs", null, null, ct)).Logs).Method);
        }

        var (lines, _) = await writer.StopAsync(ct);
        app.Stop();

        Assert.Equal(3, requests);
        LogJobs.AssertEveryLineOnce(config.FindJob("logs"), log, lines);
    }

    [Fact]
    public async Task An_archive_published_just_before_a_crash_is_not_written_again()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = WriteConfig([log]);
        var job = config.FindJob("logs");
        await File.WriteAllTextAsync(log, "one\ntwo\n", ct);
        Directory.CreateDirectory(job.Folder);
        var published = Path.Combine(job.Folder, "backend-2026-11-25.log.gz");
        await File.WriteAllBytesAsync(published, [], ct);

        // The state as a crash left it: the archive took its name, the state was not updated after.
        var inode = Cellar.Core.IO.UnixFiles.Stat(log)!.Value.Inode;
        new LogState { Path = log, Inode = inode, Archive = new PendingArchive(published, 8) }.Save(job.Folder);

        var result = await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("logs", null, null, ct);

        Assert.Equal(LogStatus.Empty, Assert.Single(result.Logs).Status);
        Assert.Equal(8, LogState.Read(job.Folder, log).Archived);
    }

    [Fact]
    public async Task A_copytruncate_that_crashed_before_its_truncate_drops_its_copy_instead_of_archiving_the_lines_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        CollapseProbe.Disabled = true;
        var log = _temp.Combine("backend.log");
        var config = WriteConfig([log]);
        var job = config.FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        await File.WriteAllTextAsync(log, "one\ntwo\n", ct);
        await File.WriteAllTextAsync(log + ".cellar-rotating", "one\ntwo\n", ct);
        var head = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("one\ntwo\n"u8));
        var copyInode = Cellar.Core.IO.UnixFiles.Stat(log + ".cellar-rotating")!.Value.Inode;
        new LogState { Path = log, Inode = Cellar.Core.IO.UnixFiles.Stat(log)!.Value.Inode, Truncate = new PendingTruncate(copyInode, 0, 8, head) }.Save(job.Folder);

        var result = await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("logs", null, null, ct);

        var outcome = Assert.Single(result.Logs);
        Assert.Equal(RotationMethod.CopyTruncate, outcome.Method);
        Assert.Equal("one\ntwo\n", LogJobs.ArchivedThenLive(job, log));
        Assert.False(File.Exists(log + ".cellar-rotating"));
    }

    [Fact]
    public void A_log_past_maxBytes_of_unarchived_lines_is_due_early()
    {
        var log = _temp.Combine("backend.log");
        var job = (RotateJob)WriteConfig([log], maxBytes: 4096).FindJob("logs");
        File.WriteAllText(log, new string('x', 4000) + "\n");
        Assert.False(LogRotator.IsOverMaxBytes(job));

        File.AppendAllText(log, new string('y', 200) + "\n");

        Assert.True(LogRotator.IsOverMaxBytes(job));
    }

    [Fact]
    public async Task An_archive_with_one_wrong_byte_fails_the_rotation_cuts_nothing_and_the_next_rotation_archives_every_line_once()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Lines = 100_000;
        var log = _temp.Combine("backend.log");
        await File.WriteAllTextAsync(log, string.Concat(Enumerable.Range(0, Lines).Select(i => i.ToString("D10", CultureInfo.InvariantCulture) + "\n")), ct);
        var config = WriteConfig([log]);
        var job = config.FindJob("logs");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        var before = CliSandbox.HashOf(log);
        CompressorFault.FlipOneByte();

        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("logs", null, null, ct));

        Assert.StartsWith("verification failed: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("archive not kept", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(job.Folder), f => !Path.GetFileName(f).StartsWith('.'));
        Assert.Equal(before, CliSandbox.HashOf(log));

        FaultInjection.Compressed = null;
        await runner.RunAsync("logs", null, null, ct);
        LogJobs.AssertEveryLineOnce(job, log, Lines);
    }

    [Fact]
    public async Task A_writer_without_O_APPEND_is_refused_with_the_fix_and_nothing_is_archived()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("careless.log");
        var config = WriteConfig([log]);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        await using var writer = await LogWriterProcess.StartAsync(log, ct, "--no-append");
        await Task.Delay(50, ct);

        var error = await Assert.ThrowsAsync<Cellar.Core.CellarException>(() => runner.RunAsync("logs", null, null, ct));

        Assert.Contains("O_APPEND", error.Message, StringComparison.Ordinal);
        Assert.Contains("flags: 'a'", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(config.FindJob("logs").Folder, "*.gz"));
        await writer.StopAsync(ct);
    }

    [Fact]
    public async Task Empty_and_missing_logs_are_skipped_and_a_second_rotation_the_same_day_gets_its_own_name()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("app.log");
        var config = WriteConfig([log, _temp.Combine("gone.log")], tagged: true);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        await File.WriteAllTextAsync(log, "one\ntwo\n", ct);
        var first = await runner.RunAsync("logs", null, null, ct);
        var again = await runner.RunAsync("logs", null, null, ct);
        await File.AppendAllTextAsync(log, "three\npartial", ct);
        var second = await runner.RunAsync("logs", null, null, ct);

        Assert.Equal([LogStatus.Rotated, LogStatus.Missing], first.Logs.Select(l => l.Status));
        Assert.Equal(LogStatus.Empty, again.Logs[0].Status);
        Assert.Equal(LogStatus.Rotated, second.Logs[0].Status);
        Assert.NotEqual(first.Logs[0].Archive, second.Logs[0].Archive);
        Assert.Equal("one\ntwo\n", LogJobs.Gunzip(first.Logs[0].Archive!));
        Assert.Equal("three\n", LogJobs.Gunzip(second.Logs[0].Archive!));
        Assert.EndsWith("partial", await File.ReadAllTextAsync(log, ct), StringComparison.Ordinal);
        Assert.Equal(LogArchiveKind.Instance.Name, Sidecar.TryRead(second.Logs[0].Archive!)!.Kind);
    }

    [Fact]
    public void Pruning_keeps_seven_days_of_archives_by_the_date_in_their_names_and_never_touches_other_files()
    {
        var job = WriteConfig([_temp.Combine("backend.log")], keepAtLeast: 1).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        var now = new DateTimeOffset(2026, 11, 26, 1, 0, 0, TimeSpan.Zero);
        var archives = Enumerable.Range(0, 12).Select(days => Path.Combine(job.Folder, $"backend-{now.AddDays(-days):yyyy-MM-dd}.log.gz")).ToList();
        var strangers = new[] { "backend.log.1", "notes-2001-01-01.log.gz", "backend-old.log.gz" }.Select(n => Path.Combine(job.Folder, n)).ToList();
        foreach (var file in archives.Concat(strangers))
        {
            File.WriteAllText(file, "x");
            File.SetLastWriteTimeUtc(file, now.UtcDateTime); // mtimes say nothing: only the names do
        }

        var result = new Cellar.Core.Retention.Pruner(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(now), OffsiteHold.Instance, NullLogger<Cellar.Core.Retention.Pruner>.Instance)
            .Prune(job, TimeZoneInfo.Utc, dryRun: false);

        // Named for 2026-11-19 (midnight) is more than 7 days before 2026-11-26 01:00: gone; 11-20 onwards stay.
        Assert.Equal(archives.Take(7).Order(), Directory.EnumerateFiles(job.Folder, "backend-????-??-??.log.gz").Order());
        Assert.Equal(5, result.Deleted.Count);
        Assert.All(strangers, s => Assert.True(File.Exists(s), $"{s} was deleted"));
    }

    private CellarConfig WriteConfig(string[] paths, string? pidFile = null, bool tagged = false, int keepAtLeast = 1000, string? reopenUrl = null, long? maxBytes = null) =>
        LogJobs.WriteConfig(_temp, paths, pidFile, tagged, keepAtLeast, reopenUrl, maxBytes);
}

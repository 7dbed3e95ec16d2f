using System.Globalization;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// <see cref="SignalCut"/> alone, with a real writer that reopens its log on SIGHUP: the log is renamed, a fresh one
/// takes its name, the writer is told and moves over, and the renamed file is archived and removed. When the app
/// cannot be told, the log gets its name back and the writer never notices.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class SignalCutTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Signal_makes_the_writer_reopen_a_fresh_log_and_archives_every_line_of_the_old_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var pidFile = _temp.Combine("backend.pid");
        var job = LogJobs.WriteConfig(_temp, [log], pidFile).FindJob("logs");
        await using var writer = await LogWriterProcess.StartAsync(log, ct, "--reopen-on-hup", "--pid-file", pidFile);
        await Task.Delay(100, ct);
        var inode = UnixFiles.Stat(log)!.Value.Inode;

        var outcome = await LogJobs.CutAsync(new SignalCut(LogJobs.Archiver()), job, log, ct);

        await Task.Delay(50, ct);
        var (lines, _) = await writer.StopAsync(ct);

        Assert.Equal((LogStatus.Rotated, RotationMethod.Signal), (outcome.Status, outcome.Method));
        Assert.NotEqual(inode, UnixFiles.Stat(log)!.Value.Inode);
        Assert.False(File.Exists(LogFile.RotatedPath(log)));
        Assert.False(File.Exists(LogState.FileFor(job.Folder, LogFile.RotatedPath(log))));
        LogJobs.AssertEveryLineOnce(job, log, lines);
    }

    [Fact]
    public async Task A_pid_file_naming_a_process_that_does_not_write_the_log_is_refused_and_the_log_keeps_its_name()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var pidFile = _temp.Combine("stale.pid");
        var job = LogJobs.WriteConfig(_temp, [log], pidFile).FindJob("logs");
        await using var writer = await LogWriterProcess.StartAsync(log, ct, "--reopen-on-hup");
        await File.WriteAllTextAsync(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ct);
        var inode = UnixFiles.Stat(log)!.Value.Inode;

        var error = await Assert.ThrowsAsync<CellarException>(() => LogJobs.CutAsync(new SignalCut(LogJobs.Archiver()), job, log, ct));

        var size = new FileInfo(log).Length;
        await Task.Delay(50, ct);
        var (lines, _) = await writer.StopAsync(ct);

        Assert.Contains("not signalling it", error.Message, StringComparison.Ordinal);
        Assert.Equal(inode, UnixFiles.Stat(log)!.Value.Inode);
        Assert.True(new FileInfo(log).Length > size, "the writer no longer writes to the log under its name");
        Assert.False(File.Exists(LogFile.RotatedPath(log)));
        Assert.False(File.Exists(LogState.FileFor(job.Folder, LogFile.RotatedPath(log))));
        LogJobs.AssertEveryLineOnce(job, log, lines);
    }
}

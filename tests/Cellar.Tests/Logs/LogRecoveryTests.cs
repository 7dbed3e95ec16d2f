using System.Security.Cryptography;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// <see cref="LogRecovery"/> alone: a rotation stopped part-way leaves its step recorded as pending in the log's state
/// on disk; recovery reads the files to tell whether the step happened and settles the state so that the next
/// rotation neither loses nor repeats a line.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class LogRecoveryTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        HeadCut.Fault = null;
        _temp.Dispose();
    }

    [Fact]
    public async Task A_copytruncate_stopped_before_its_truncate_is_settled_by_dropping_the_copy()
    {
        var ct = TestContext.Current.CancellationToken;
        var (job, log) = await LogWithPendingTruncateAsync(archived: 1100, ct);

        var state = LogRecovery.Settle(job, log);

        Assert.False(File.Exists(LogFile.RotatedPath(log)));
        Assert.False(File.Exists(LogState.FileFor(job.Folder, LogFile.RotatedPath(log))));
        Assert.Equal((null, 1100L), (state.Truncate, state.Archived));
        Assert.Equal(state, LogState.Read(job.Folder, log));
    }

    [Fact]
    public async Task A_copytruncate_stopped_after_its_truncate_is_settled_by_keeping_the_copy_for_its_archive()
    {
        var ct = TestContext.Current.CancellationToken;
        var (job, log) = await LogWithPendingTruncateAsync(archived: 1100, ct);
        await File.WriteAllTextAsync(log, LogJobs.Lines(1000, 3), ct); // truncated, then written again by the app

        var state = LogRecovery.Settle(job, log);

        Assert.Equal(LogJobs.Lines(100, 900), await File.ReadAllTextAsync(LogFile.RotatedPath(log), ct));
        Assert.Equal((null, 0L), (state.Truncate, state.Archived));
        Assert.Equal(state, LogState.Read(job.Folder, log));
    }

    [Theory]
    [InlineData("before")]
    [InlineData("after")]
    public async Task A_collapse_stopped_on_either_side_of_its_cut_is_settled_by_what_the_head_of_the_file_shows(string side)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 1000), ct);
        HeadCut.Fault = cut =>
        {
            if (side == "after")
            {
                Assert.Equal(0, cut());
            }

            throw new IOException("simulated crash");
        };
        await Assert.ThrowsAsync<IOException>(() => LogJobs.CutAsync(new CollapseCut(LogJobs.Archiver()), job, log, ct));

        HeadCut.Fault = null;
        await File.AppendAllTextAsync(log, LogJobs.Lines(1000, 10), ct);
        var pending = LogState.Read(job.Folder, log);
        Assert.NotNull(pending.Pending);

        LogState settled;
        using (var file = LogFile.Open(log, FileAccess.Read))
        {
            settled = LogRecovery.SettleCollapse(pending, file.SafeFileHandle);
            Assert.False(settled.HeadReplaced(file.SafeFileHandle));
        }

        Assert.Null(settled.Pending);
        Assert.Equal(side == "after" ? 11_000 - pending.Pending.Bytes : 11_000, settled.Archived);
        settled.Save(job.Folder);
        LogJobs.AssertEveryLineOnce(job, log, 1010);
    }

    [Fact]
    public async Task A_signal_rotation_stopped_after_its_rename_gives_the_log_its_name_back_under_the_writer()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var rotated = LogFile.RotatedPath(log);
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        await using var writer = await LogWriterProcess.StartAsync(log, ct);
        var inode = UnixFiles.Stat(log)!.Value.Inode;

        // As the signal cut leaves it when stopped right after its rename: the app, never told, writes to the renamed file.
        new LogState { Path = rotated, Inode = inode, Archived = 110 }.Save(job.Folder);
        File.Move(log, rotated);

        var state = LogRecovery.Settle(job, log);
        var size = new FileInfo(log).Length;
        await Task.Delay(50, ct);
        await writer.StopAsync(ct);

        Assert.Equal((inode, 110L, log), (state.Inode, state.Archived, state.Path));
        Assert.Equal(inode, UnixFiles.Stat(log)!.Value.Inode);
        Assert.True(new FileInfo(log).Length > size, "the writer no longer writes to the log under its name");
        Assert.False(File.Exists(rotated));
        Assert.False(File.Exists(LogState.FileFor(job.Folder, rotated)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_archive_counts_as_archived_once_it_has_taken_its_final_name(bool published)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 20), ct);
        var archive = Path.Combine(job.Folder, "backend-2026-11-25.log.gz");
        if (published)
        {
            await File.WriteAllBytesAsync(archive, [], ct);
        }

        new LogState { Path = log, Inode = UnixFiles.Stat(log)!.Value.Inode, Archived = 55, Archive = new PendingArchive(archive, 110) }.Save(job.Folder);

        var state = LogRecovery.Settle(job, log);

        Assert.Equal((null, published ? 110L : 55L), (state.Archive, state.Archived));
    }

    [Fact]
    public async Task Copies_a_copytruncate_left_half_written_beside_the_log_are_deleted_and_nothing_else()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 20), ct);
        using var halfCopy = TempFile.For(_temp.Path, "backend.log", "copy");
        using var otherLogsCopy = TempFile.For(_temp.Path, "other.log", "copy");
        await File.WriteAllTextAsync(halfCopy.Path, LogJobs.Lines(0, 7), ct);
        await File.WriteAllTextAsync(otherLogsCopy.Path, LogJobs.Lines(0, 7), ct);

        LogRecovery.Settle(job, log);

        Assert.False(File.Exists(halfCopy.Path));
        Assert.True(File.Exists(otherLogsCopy.Path));
        Assert.Equal(LogJobs.Lines(0, 20), await File.ReadAllTextAsync(log, ct));
    }

    /// <summary>
    /// A log of 1000 lines, the first <paramref name="archived"/> bytes archived, and the state and copy a copytruncate
    /// leaves when stopped between syncing its copy (under the rotated name) and truncating the live file.
    /// </summary>
    private async Task<(Cellar.Core.Configuration.JobConfig Job, string Log)> LogWithPendingTruncateAsync(long archived, CancellationToken ct)
    {
        var log = _temp.Combine("backend.log");
        var rotated = LogFile.RotatedPath(log);
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        var lines = LogJobs.Lines(0, 1000);
        await File.WriteAllTextAsync(log, lines, ct);
        await File.WriteAllTextAsync(rotated, lines[(int)archived..], ct);
        var copyInode = UnixFiles.Stat(rotated)!.Value.Inode;
        var head = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(lines[(int)archived..][..LogFile.ProbeBytes])));
        new LogState { Path = rotated, Inode = copyInode }.Save(job.Folder);
        new LogState { Path = log, Inode = UnixFiles.Stat(log)!.Value.Inode, Archived = archived, Truncate = new PendingTruncate(copyInode, archived, LogFile.ProbeBytes, head) }.Save(job.Folder);
        return (job, log);
    }
}

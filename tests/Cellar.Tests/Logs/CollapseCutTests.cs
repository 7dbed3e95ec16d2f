using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// <see cref="CollapseCut"/> alone, on a real log in a temp folder (ext4 here, which can collapse): it archives the
/// complete lines not yet archived and cuts whole blocks of them off the head in place, so the app appending to the
/// file loses nothing and nothing is archived twice.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class CollapseCutTests : IDisposable
{
    private const int EOpNotSupp = 95;
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        HeadCut.Fault = null;
        _temp.Dispose();
    }

    [Fact]
    public async Task Collapse_cuts_whole_archived_blocks_off_the_head_while_a_writer_appends_and_loses_no_line()
    {
        var (job, log, outcome, lines) = await LogJobs.CutUnderWriterAsync(new CollapseCut(LogJobs.Archiver()), _temp, TestContext.Current.CancellationToken);

        Assert.Equal((LogStatus.Rotated, RotationMethod.Collapse), (outcome.Status, outcome.Method));
        var state = LogState.Read(job.Folder, log);
        Assert.Null(state.Pending);
        Assert.InRange(state.Archived, 0, UnixFiles.Stat(log)!.Value.BlockSize);
        Assert.True(new FileInfo(log).Length < lines * 11, "no block was cut off the head of the file");
        LogJobs.AssertEveryLineOnce(job, log, lines);
    }

    [Fact]
    public async Task A_log_with_only_an_unfinished_line_is_left_as_it_is()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        await File.WriteAllTextAsync(log, "a line still being writ", ct);

        var outcome = await LogJobs.CutAsync(new CollapseCut(LogJobs.Archiver()), job, log, ct);

        Assert.Equal(LogStatus.NoCompleteLine, outcome.Status);
        Assert.Equal("a line still being writ", await File.ReadAllTextAsync(log, ct));
        Assert.Empty(Directory.EnumerateFiles(job.Folder, "*.gz"));
    }

    [Fact]
    public async Task A_log_shorter_than_a_block_is_archived_and_left_whole_with_its_head_remembered_as_archived()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 100) + "partial", ct);

        var outcome = await LogJobs.CutAsync(new CollapseCut(LogJobs.Archiver()), job, log, ct);

        Assert.Equal((RotationMethod.Collapse, 100L), (outcome.Method, outcome.Lines));
        Assert.Equal(LogJobs.Lines(0, 100) + "partial", await File.ReadAllTextAsync(log, ct));
        Assert.Equal(1100, LogState.Read(job.Folder, log).Archived);
        Assert.Equal(LogJobs.Lines(0, 100), LogJobs.Gunzip(outcome.Archive!));
    }

    [Fact]
    public async Task A_cut_the_filesystem_refuses_leaves_the_lines_archived_once_and_turns_collapse_off_for_the_log()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 1000), ct);
        HeadCut.Fault = _ => EOpNotSupp;

        var outcome = await LogJobs.CutAsync(new CollapseCut(LogJobs.Archiver()), job, log, ct);

        Assert.Contains("could not be cut", outcome.Warning, StringComparison.Ordinal);
        var state = LogState.Read(job.Folder, log);
        Assert.True(state.CollapseUnsupported);
        Assert.Equal(11_000, state.Archived);
        Assert.Equal(LogJobs.Lines(0, 1000), await File.ReadAllTextAsync(log, ct));
        LogJobs.AssertEveryLineOnce(job, log, 1000);
    }
}

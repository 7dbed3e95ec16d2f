using Cellar.Core.Configuration;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// <see cref="CopyTruncateCut"/> alone: the lines are copied, synced and the live file truncated the moment the copy
/// has caught up. Under a writer, only lines written in that last window can be lost, and the outcome says how long it
/// was; with nobody writing, nothing is lost.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class CopyTruncateCutTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Copytruncate_under_a_writer_archives_lines_in_order_without_repeats_and_reports_its_loss_window()
    {
        var (job, log, outcome, _) = await LogJobs.CutUnderWriterAsync(new CopyTruncateCut(LogJobs.Archiver()), _temp, TestContext.Current.CancellationToken);

        Assert.Equal((LogStatus.Rotated, RotationMethod.CopyTruncate), (outcome.Status, outcome.Method));
        Assert.NotNull(outcome.LossWindowMicroseconds);
        Assert.Contains($"truncated {outcome.LossWindowMicroseconds} µs after the last copy", outcome.Warning, StringComparison.Ordinal);
        Assert.False(File.Exists(LogFile.RotatedPath(log)));
        Assert.Equal(0, LogState.Read(job.Folder, log).Archived);

        // A line being written at the truncate can be cut short (copytruncate's loss): it stays on a line of its own.
        var numbers = LogJobs.ArchivedThenLive(job, log).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Length == 10).Select(long.Parse).ToList();
        Assert.Equal(0, numbers[0]);
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
    }

    [Fact]
    public async Task Copytruncate_of_a_log_nobody_writes_archives_every_line_and_empties_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var job = LogJobs.WriteConfig(_temp, [log]).FindJob("logs");
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 5000), ct);

        var outcome = await LogJobs.CutAsync(new CopyTruncateCut(LogJobs.Archiver()), job, log, ct);

        Assert.Equal(5000, outcome.Lines);
        Assert.DoesNotContain("cut short", outcome.Warning, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(log).Length);
        Assert.Equal(LogJobs.Lines(0, 5000), LogJobs.Gunzip(outcome.Archive!));
        Cellar.Tests.Cli.CliSandbox.AssertNoTempFiles(_temp.Path);
    }
}

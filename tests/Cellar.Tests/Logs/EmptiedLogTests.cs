using System.Globalization;
using System.Text;
using Cellar.Core;
using Cellar.Core.Jobs;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// A live log emptied by someone else between rotations (<c>: &gt; backend.log</c>, an app that opens its log with
/// O_TRUNC at start) and written again past what the last rotation had archived: the next rotation sees that the head
/// of the file is not what it archived and archives everything, so no line of the new content is skipped.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class EmptiedLogTests : IDisposable
{
    private const int EOpNotSupp = 95;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Every way a rotation leaves already-archived bytes at the head of the live file.</summary>
    public static TheoryData<string> HeadsLeftArchived => new()
    {
        "a collapse with its block remainder",
        "a log shorter than a block",
        "repeating content",
        "a failed collapse",
        "a crash before the cut",
        "a crash after the cut",
    };

    [Theory]
    [MemberData(nameof(HeadsLeftArchived))]
    public async Task A_log_emptied_and_written_again_past_the_archived_head_is_archived_from_its_start(string headLeftBy)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = LogJobs.WriteConfig(_temp, [log]);
        var job = config.FindJob("logs");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        var before = headLeftBy switch
        {
            "a log shorter than a block" => LogJobs.Lines(0, 100),
            "repeating content" => string.Concat(Enumerable.Repeat("the same line.\n\n", 1000)), // 16 bytes: every block alike
            _ => LogJobs.Lines(0, 1000), // 11,000 bytes: two blocks cut, 2,808 archived bytes stay
        };
        await File.WriteAllTextAsync(log, before, ct);
        HeadCut.Fault = headLeftBy switch
        {
            "a failed collapse" => _ => EOpNotSupp,
            "a crash before the cut" => _ => throw new IOException("simulated crash"),
            "a crash after the cut" => cut =>
            {
                Assert.Equal(0, cut());
                throw new IOException("simulated crash");
            },
            _ => null,
        };
        if (headLeftBy.StartsWith("a crash", StringComparison.Ordinal))
        {
            await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("logs", null, null, ct));
        }
        else
        {
            await runner.RunAsync("logs", null, null, ct);
        }

        HeadCut.Fault = null;
        Assert.True(LogState.Read(job.Folder, log).Archived > 0, "the rotation left no archived bytes at the head: the test proves nothing");

        EmptyAsTheShellDoes(log);
        var after = LogJobs.Lines(1000, 2000);
        await File.AppendAllTextAsync(log, after, ct);
        var outcome = Assert.Single((await runner.RunAsync("logs", null, null, ct)).Logs);

        Assert.Equal(before + after, LogJobs.ArchivedThenLive(job, log));
        Assert.Contains("no longer starts with", outcome.Warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("before")]
    [InlineData("after")]
    public async Task A_rotation_that_crashed_on_either_side_of_the_cut_neither_loses_nor_repeats_a_line(string side)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = LogJobs.WriteConfig(_temp, [log]);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        await File.WriteAllTextAsync(log, LogJobs.Lines(0, 1000), ct);
        HeadCut.Fault = cut =>
        {
            if (side == "after")
            {
                Assert.Equal(0, cut());
            }

            throw new IOException("simulated crash");
        };
        await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("logs", null, null, ct));
        HeadCut.Fault = null;

        await File.AppendAllTextAsync(log, LogJobs.Lines(1000, 500), ct);
        var outcome = Assert.Single((await runner.RunAsync("logs", null, null, ct)).Logs);

        LogJobs.AssertEveryLineOnce(config.FindJob("logs"), log, 1500);
        Assert.Null(outcome.Warning);
    }

    [Fact]
    public async Task A_log_emptied_under_a_running_writer_loses_only_the_lines_that_were_emptied()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = LogJobs.WriteConfig(_temp, [log]);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        await using var writer = await LogWriterProcess.StartAsync(log, ct);
        var firstAfterEmptying = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(30, ct);
            await runner.RunAsync("logs", null, null, ct);
            EmptyAsTheShellDoes(log);

            // At over 10,000 lines a second the writer is far past the block remainder (under 4 KiB) the rotation left.
            await Task.Delay(100, ct);
            firstAfterEmptying.Add(FirstNumber(log));
        }

        await runner.RunAsync("logs", null, null, ct);
        var (lines, _) = await writer.StopAsync(ct);

        // Lines written since a rotation and then emptied away are gone (that is the emptying); every other line is
        // archived once, in order, and in particular the first line written after each emptying.
        var numbers = LogJobs.ArchivedThenLive(config.FindJob("logs"), log).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
        Assert.Equal(lines - 1, numbers[^1]);
        Assert.All(firstAfterEmptying, first => Assert.Contains(first, numbers));
        for (var i = 1; i < numbers.Count; i++)
        {
            Assert.True(numbers[i] > numbers[i - 1], $"line {numbers[i]} follows {numbers[i - 1]}");
            Assert.True(numbers[i] == numbers[i - 1] + 1 || firstAfterEmptying.Contains(numbers[i]), $"lines {numbers[i - 1] + 1} to {numbers[i] - 1} are missing, and no emptying explains it");
        }
    }

    [Fact]
    public async Task A_state_written_before_head_probes_existed_is_trusted_as_before()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        var config = LogJobs.WriteConfig(_temp, [log]);
        var job = config.FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        await File.WriteAllTextAsync(log, "one\ntwo\nthree\n", ct);
        new LogState { Path = log, Inode = Cellar.Core.IO.UnixFiles.Stat(log)!.Value.Inode, Archived = 8 }.Save(job.Folder);

        var outcome = Assert.Single((await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync("logs", null, null, ct)).Logs);

        Assert.Equal("three\n", LogJobs.Gunzip(outcome.Archive!));
        Assert.Null(outcome.Warning);
    }

    /// <summary><c>: &gt; FILE</c>: open with O_TRUNC, write nothing.</summary>
    private static void EmptyAsTheShellDoes(string path) => new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite).Dispose();

    private static long FirstNumber(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var line = new byte[10];
        file.ReadExactly(line);
        return long.Parse(Encoding.ASCII.GetString(line), CultureInfo.InvariantCulture);
    }
}

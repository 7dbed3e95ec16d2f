using System.Globalization;
using System.Text;
using Cellar.Logging;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logging;

public sealed class RollingLogFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Two_writers_like_the_daemon_and_a_cli_run_roll_the_same_file_without_losing_or_tearing_a_line()
    {
        var path = _temp.Combine("backup.log");
        const int PerWriter = 120_000;
        var padding = new string('x', 80);
        var writers = Enumerable.Range(0, 2).Select(w => new Thread(() =>
        {
            using var file = new RollingLogFile(path, TimeProvider.System);
            for (var i = 0; i < PerWriter; i++)
            {
                file.Append(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{w} {i:D6} {padding}\n")));
            }
        })).ToList();

        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.Join());

        var files = Directory.GetFiles(_temp.Path, "backup*.log");
        Assert.True(files.Length >= 3, $"expected the 21 MB of lines to roll at least twice: {string.Join(", ", files)}");
        // A writer that finds the other one rolling writes its line to the old file: a few lines over, never more.
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= RollingLogFile.MaxBytes + (16 << 10), $"{f} grew to {new FileInfo(f).Length} bytes"));
        var lines = files.SelectMany(File.ReadLines).ToList();
        Assert.Equal(2 * PerWriter, lines.Count);
        Assert.All(lines, l => Assert.Matches(@"^[01] \d{6} x{80}$", l));
        Assert.Equal(2 * PerWriter, lines.Distinct().Count());
    }

    [Fact]
    public void Rolled_files_older_than_the_retention_are_deleted_and_others_are_left_alone()
    {
        var today = TimeProvider.System.GetUtcNow().UtcDateTime;
        var path = _temp.Combine("maintenance.log");
        var old = _temp.Combine("maintenance-2001-01-01.log");
        var recent = _temp.Combine($"maintenance-{today.AddDays(-2):yyyy-MM-dd}.log");
        var stranger = _temp.Combine("maintenance-notes.txt");
        foreach (var file in new[] { old, recent, stranger })
        {
            File.WriteAllText(file, "x\n");
        }

        File.WriteAllText(path, "yesterday\n");
        File.SetLastWriteTimeUtc(path, today.AddDays(-1));

        using (var log = new RollingLogFile(path, TimeProvider.System))
        {
            log.Append("today\n"u8);
            log.Append("today again\n"u8);
        }

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(stranger));
        Assert.Equal("yesterday\n", File.ReadAllText(_temp.Combine($"maintenance-{today.AddDays(-1):yyyy-MM-dd}.log")));
        Assert.Equal("today\ntoday again\n", File.ReadAllText(path));
    }
}

using Cellar.Core.Offsite;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>The stream's offsite lag as the dashboard plots it: each minute's worst, quiet runs kept short, a week kept.</summary>
public sealed class StreamLagTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string PathOfLag => _temp.Combine("db.nas.stream-live.lag");

    [Fact]
    public void Each_minute_is_written_once_it_is_over_with_its_worst_lag_and_a_quiet_run_as_its_first_and_last_minute()
    {
        var lag = new StreamLag(PathOfLag);
        lag.Record(Noon, null);
        lag.Record(Noon.AddSeconds(30), Noon.AddSeconds(29));
        for (var minute = 1; minute <= 4; minute++)
        {
            lag.Record(Noon.AddMinutes(minute), null); // quiet minutes
        }

        lag.Record(Noon.AddMinutes(5).AddSeconds(10), Noon.AddMinutes(5).AddSeconds(8));
        lag.Record(Noon.AddMinutes(5).AddSeconds(40), Noon.AddMinutes(5)); // the minute's worst: 40 s
        lag.Record(Noon.AddMinutes(5).AddSeconds(50), Noon.AddMinutes(5).AddSeconds(49));
        Assert.Equal(["12:00 1", "12:01 0"], Shown()); // the quiet run's last minute waits for its end, the minute under way for its own

        lag.Record(Noon.AddMinutes(6), null);
        Assert.Equal(["12:00 1", "12:01 0", "12:04 0", "12:05 40"], Shown());
    }

    [Fact]
    public void A_long_history_is_thinned_to_each_stretchs_worst_and_a_line_being_written_is_skipped()
    {
        var lines = Enumerable.Range(0, 1000).Select(i => $"{Noon.AddMinutes(i):yyyy-MM-ddTHH:mm:ssZ} {(i == 517 ? 3600 : 1)}");
        File.WriteAllText(PathOfLag, string.Join("\n", lines) + "\n2026-12-02T04:4");

        var points = StreamLag.Read(PathOfLag, Noon, 100);
        Assert.InRange(points.Count, 90, 100);
        Assert.Equal(3600, points.Max(p => p.Seconds));
        Assert.Equal(Noon.AddMinutes(517), points.MaxBy(p => p.Seconds)!.At);
        Assert.Equal(1000, StreamLag.Read(PathOfLag, Noon, 1000).Count);
        Assert.Equal(10, StreamLag.Read(PathOfLag, Noon.AddMinutes(990), 1000).Count);
    }

    [Fact]
    public void Lines_older_than_a_week_are_dropped_and_the_file_stays_the_owners_alone()
    {
        File.WriteAllText(PathOfLag, $"{Noon.AddDays(-8):yyyy-MM-ddTHH:mm:ssZ} 5\n{Noon.AddDays(-6):yyyy-MM-ddTHH:mm:ssZ} 7\n");
        var lag = new StreamLag(PathOfLag);
        lag.Record(Noon, Noon.AddSeconds(-2));
        lag.Record(Noon.AddMinutes(1), null);

        Assert.Equal([7, 2], StreamLag.Read(PathOfLag, DateTimeOffset.MinValue, 100).Select(p => p.Seconds));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PathOfLag));
    }

    [Fact]
    public void A_folder_that_cannot_be_written_loses_the_minute_and_nothing_else()
    {
        File.WriteAllText(_temp.Combine("not-a-folder"), "a file where the folder should be");
        var lag = new StreamLag(_temp.Combine("not-a-folder", "x.lag"));
        lag.Record(Noon, Noon);
        lag.Record(Noon.AddMinutes(1), null); // writes, and fails without a word
        lag.Record(Noon.AddMinutes(2), null);
        Assert.Equal("a file where the folder should be", File.ReadAllText(_temp.Combine("not-a-folder")));
    }

    private List<string> Shown() => [.. StreamLag.Read(PathOfLag, DateTimeOffset.MinValue, 100).Select(p => $"{p.At:HH:mm} {p.Seconds}")];
}

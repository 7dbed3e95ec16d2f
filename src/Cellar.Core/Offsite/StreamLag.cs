using System.Globalization;
using System.Text;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Offsite;

/// <summary>
/// How far behind one destination's copy of a stream has been, minute by minute, for the dashboard's plot: each
/// minute's worst lag (when a pass ended, the age of the oldest transaction it found waiting for the destination; 0
/// when none waited) as a line <c>TIME SECONDS</c> appended to
/// <c>BACKUP_ROOT/.cellar-offsite/DATABASE.DESTINATION.stream-JOB.lag</c>. A run of quiet minutes is written as its
/// first and last minute only. Lines older than <see cref="Keep"/> are dropped once an hour. It is a measurement that
/// nothing else depends on: a line the disk refuses is left out, never a failed pass.
/// </summary>
internal sealed class StreamLag(string path)
{
    /// <summary>How much history the file keeps.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    private static readonly TimeSpan TrimInterval = TimeSpan.FromHours(1);

    private DateTimeOffset? _minute;
    private double _peak;
    private double? _written;
    private DateTimeOffset? _quietUnwritten;
    private DateTimeOffset _trimDue;

    /// <summary>Where the lag of <paramref name="job"/> at <paramref name="destination"/> is kept.</summary>
    public static string PathOf(StreamJob job, OffsiteDestination destination) =>
        Path.Combine(OffsiteLedger.FolderOf(job.Database), $"{job.Database.Name}.{destination.Name}.stream-{job.Name}.lag");

    /// <summary>Counts a pass that ended at <paramref name="at"/>, when the oldest transaction it found waiting committed at <paramref name="waited"/> (null: none).</summary>
    public void Record(DateTimeOffset at, DateTimeOffset? waited)
    {
        var minute = new DateTimeOffset(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        if (_minute is { } open && open != minute)
        {
            Write(open, _peak);
            _peak = 0;
        }

        _minute = minute;
        _peak = Math.Max(_peak, waited is { } w ? Math.Max(0, (at - w).TotalSeconds) : 0);
    }

    /// <summary>
    /// The lag kept at <paramref name="path"/> (<see cref="PathOf"/>) since <paramref name="since"/>, oldest first, in at
    /// most <paramref name="most"/> points: when there are more, each point is the worst of an equal stretch of time.
    /// </summary>
    public static IReadOnlyList<LagPoint> Read(string path, DateTimeOffset since, int most)
    {
        var points = Lines(path).Where(p => p.At >= since).OrderBy(p => p.At).ToList();
        if (points.Count <= most)
        {
            return points;
        }

        var (first, last) = (points[0].At, points[^1].At);
        var width = (last - first).Ticks / most + 1;
        return [.. points.GroupBy(p => (p.At - first).Ticks / width).Select(stretch => stretch.MaxBy(p => p.Seconds)!)];
    }

    private void Write(DateTimeOffset minute, double seconds)
    {
        if (seconds == 0 && _written == 0)
        {
            _quietUnwritten = minute;
            return;
        }

        var text = new StringBuilder();
        if (_quietUnwritten is { } quiet)
        {
            text.Append(Line(quiet, 0));
        }

        text.Append(Line(minute, seconds));
        try
        {
            SecureFiles.EnsureFolder(Path.GetDirectoryName(path)!);
            using (var file = AppendOnlyFile.Open(path))
            {
                file.Append(Encoding.ASCII.GetBytes(text.ToString()));
            }

            (_written, _quietUnwritten) = (seconds, null);
            if (minute >= _trimDue)
            {
                _trimDue = minute + TrimInterval;
                Trim(minute - Keep);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SyncFailedException)
        {
            // A full or read-only disk fails the ledger's next write loudly; a lost minute of lag is not worth a second voice.
        }
    }

    /// <summary>Drops the lines before <paramref name="cut"/>, replacing the file atomically (only this writer appends to it).</summary>
    private void Trim(DateTimeOffset cut)
    {
        var points = Lines(path).ToList();
        if (points.Count == 0 || points[0].At >= cut)
        {
            return;
        }

        using var temp = TempFile.For(Path.GetDirectoryName(path)!, Path.GetFileName(path));
        using (var file = SecureFiles.CreateNew(temp.Path, 1 << 16))
        {
            file.Write(Encoding.ASCII.GetBytes(string.Concat(points.Where(p => p.At >= cut).Select(p => Line(p.At, p.Seconds)))));
            Fsync.File(file);
        }

        temp.Commit(path, replace: true);
    }

    private static string Line(DateTimeOffset at, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"{at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} {seconds:0.###}\n");

    /// <summary>The file's points; a line that does not parse (one being appended as it is read) is skipped.</summary>
    private static IEnumerable<LagPoint> Lines(string path)
    {
        string text;
        try
        {
            text = Encoding.ASCII.GetString(SecureFiles.ReadSmall(path));
        }
        catch (FileNotFoundException)
        {
            yield break;
        }

        foreach (var line in text.Split('\n'))
        {
            if (line.Split(' ') is [var at, var seconds]
                && DateTimeOffset.TryParseExact(at, "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
                && double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                yield return new LagPoint(time, value);
            }
        }
    }
}

/// <summary>One minute's worst lag of a stream's copy at a destination.</summary>
/// <param name="At">The minute.</param>
/// <param name="Seconds">How long the oldest transaction waiting for the destination had waited, at worst.</param>
public sealed record LagPoint(DateTimeOffset At, double Seconds);

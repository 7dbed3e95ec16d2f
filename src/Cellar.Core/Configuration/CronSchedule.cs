using Cronos;

namespace Cellar.Core.Configuration;

/// <summary>
/// A cron schedule read as crontab reads it. Cronos fires on a day when both the day of month and the day of week
/// match; POSIX cron (the seed's crontab among them) fires when either does, once both are restricted: "0 3 1 * 0"
/// is 03:00 on the 1st of every month and on every Sunday, not only on a 1st that is a Sunday. Such an expression is
/// kept as its two halves, and its occurrences are theirs together.
/// </summary>
public sealed class CronSchedule
{
    private readonly IReadOnlyList<CronExpression> _parts;

    private CronSchedule(string text, IReadOnlyList<CronExpression> parts) => (Text, _parts) = (text, parts);

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>Parses 5 fields, or 6 with seconds first; throws <see cref="CronFormatException"/> when it is not cron.</summary>
    public static CronSchedule Parse(string text)
    {
        var trimmed = text.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var format = fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        var (dayOfMonth, dayOfWeek) = fields.Length == 6 ? (3, 5) : (2, 4);
        if (fields.Length < 5 || !Restricted(fields[dayOfMonth]) || !Restricted(fields[dayOfWeek]))
        {
            return new CronSchedule(trimmed, [CronExpression.Parse(trimmed, format)]);
        }

        return new CronSchedule(trimmed, [
            CronExpression.Parse(string.Join(' ', fields.Select((f, i) => i == dayOfWeek ? "*" : f)), format),
            CronExpression.Parse(string.Join(' ', fields.Select((f, i) => i == dayOfMonth ? "*" : f)), format),
        ]);
    }

    /// <summary>The first occurrence after <paramref name="from"/> in <paramref name="zone"/>, or null when there is none.</summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset from, TimeZoneInfo zone) =>
        _parts.Select(p => p.GetNextOccurrence(from, zone)).Where(n => n is not null).Min();

    /// <summary>Every occurrence between <paramref name="from"/> and <paramref name="to"/>, in order, each once.</summary>
    public IEnumerable<DateTimeOffset> GetOccurrences(DateTimeOffset from, DateTimeOffset to, TimeZoneInfo zone, bool fromInclusive, bool toInclusive) =>
        _parts.SelectMany(p => p.GetOccurrences(from, to, zone, fromInclusive, toInclusive)).Distinct().Order();

    /// <inheritdoc/>
    public override string ToString() => Text;

    private static bool Restricted(string field) => field is not ("*" or "?");
}

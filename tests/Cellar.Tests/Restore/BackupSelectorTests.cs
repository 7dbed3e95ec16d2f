using System.Globalization;

using Cellar.Core;
using Cellar.Core.Restore;

using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>What <c>restore --at TIME</c> means: a time stands for the whole second, minute or day it names.</summary>
public sealed class BackupSelectorTests
{
    [Theory]
    [InlineData("2026-11-20 14:00:05", "UTC", "2026-11-20T14:00:05.9999999+00:00")] // as `cellar list` shows it
    [InlineData("2026-11-20T14:00:05", "UTC", "2026-11-20T14:00:05.9999999+00:00")]
    [InlineData("2026-11-20T14:00:05Z", "Europe/Berlin", "2026-11-20T14:00:05.9999999+00:00")]
    [InlineData("2026-11-20T14:00:05+01:00", "UTC", "2026-11-20T13:00:05.9999999+00:00")]
    [InlineData("2026-11-20T14:00", "UTC", "2026-11-20T14:00:59.9999999+00:00")]
    [InlineData("2026-11-20", "UTC", "2026-11-20T23:59:59.9999999+00:00")]
    [InlineData("2026-11-20T14:00:05.25Z", "UTC", "2026-11-20T14:00:05.2500000+00:00")] // a fraction is exact
    [InlineData("2026-11-20T14:00:05.000Z", "UTC", "2026-11-20T14:00:05.0000000+00:00")]
    [InlineData("2026-11-20 14:00:05", "Europe/Berlin", "2026-11-20T13:00:05.9999999+00:00")]
    [InlineData("2026-03-29", "Europe/Berlin", "2026-03-29T21:59:59.9999999+00:00")] // the day ends in summer time
    public void A_time_stands_for_the_whole_second_minute_or_day_it_names(string text, string zone, string lastInstant)
    {
        var last = BackupSelector.LastInstantOf(text, TimeZoneInfo.FindSystemTimeZoneById(zone));

        Assert.Equal(DateTimeOffset.Parse(lastInstant, CultureInfo.InvariantCulture), last);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("20.11.2026 14:00")]
    [InlineData("11/20/2026")]
    [InlineData("2026-11-20T14")]
    [InlineData("2026-13-20")]
    public void Anything_but_an_ISO_8601_date_or_time_is_a_usage_error(string text)
    {
        var error = Assert.Throws<ConfigException>(() => BackupSelector.LastInstantOf(text, TimeZoneInfo.Utc));

        Assert.Contains("ISO 8601", error.Message, StringComparison.Ordinal);
    }
}

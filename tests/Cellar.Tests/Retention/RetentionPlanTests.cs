using System.Globalization;

using Cellar.Core.Catalog;
using Cellar.Core.Retention;

using Xunit;

namespace Cellar.Tests.Retention;

/// <summary>
/// The retention rule on its own: keep everything younger than keepDays and, whatever the age, the newest
/// keepAtLeast backups that passed verification (topped up with the newest others when too few did).
/// </summary>
public sealed class RetentionPlanTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 0, 30, 0, TimeSpan.Zero);

    /// <summary>
    /// Backups are written as their age in days; a trailing <c>u</c> marks one whose restore drill failed,
    /// <c>s</c> one whose size no longer matches its sidecar, <c>n</c> one without a sidecar, <c>q</c> one published
    /// after its quick proof whose full check has not run yet (it may still fail it).
    /// </summary>
    [Theory]
    [InlineData("", 30, 3, "")]
    [InlineData("1 2 3 40 41", 30, 3, "1 2 3")]
    [InlineData("1 2 3 29.99 30.01 31", 30, 3, "1 2 3 29.99")]
    [InlineData("1 2 3 30", 30, 3, "1 2 3 30")]
    [InlineData("1 40 41 42", 30, 3, "1 40 41")]
    [InlineData("40 41 42 43 44", 30, 3, "40 41 42")]
    [InlineData("40 41 42 43 44", 30, 1, "40")]
    [InlineData("35u 40 41 42 43", 30, 3, "40 41 42")]
    [InlineData("35s 40 41 42 43", 30, 3, "40 41 42")]
    [InlineData("35n 40 41 42 43", 30, 3, "40 41 42")]
    [InlineData("35u 40", 30, 3, "35u 40")]
    [InlineData("35u 36u 37u 38u", 30, 3, "35u 36u 37u")]
    [InlineData("35u 36 37u 38 39u 40", 30, 3, "36 38 40")]
    [InlineData("5u 6u 50 60", 30, 1, "5u 6u 50")]
    [InlineData("1u 2u 3u 4u 5u", 30, 3, "1u 2u 3u 4u 5u")]
    [InlineData("1 2 3 8 10", 7, 1, "1 2 3")]
    [InlineData("1 2 3 6.9 7.1", 7, 3, "1 2 3 6.9")]
    [InlineData("100 200 300 400", 84, 3, "100 200 300")]
    [InlineData("35q 40", 30, 1, "40")]
    [InlineData("35q 36q 40", 30, 2, "35q 40")]
    [InlineData("35u 36q 37u", 30, 1, "36q")]
    public void Retention_keeps_the_young_and_the_newest_good_backups(string backups, int keepDays, int keepAtLeast, string expectedKept)
    {
        var entries = Parse(backups);

        var plan = RetentionPlan.For(entries, Now, keepDays, keepAtLeast);

        Assert.Equal(expectedKept, string.Join(' ', plan.Keep.Select(e => e.Name)));
        Assert.Equal(entries.Count, plan.Keep.Count + plan.Delete.Count);
        Assert.Empty(plan.Keep.Intersect(plan.Delete));
    }

    [Fact]
    public void The_plan_lists_kept_and_deleted_backups_newest_first_whatever_the_input_order()
    {
        var entries = Parse("50 1 45 3 60 2 40");

        var plan = RetentionPlan.For(entries, Now, 30, 3);

        Assert.Equal("1 2 3", string.Join(' ', plan.Keep.Select(e => e.Name)));
        Assert.Equal("40 45 50 60", string.Join(' ', plan.Delete.Select(e => e.Name)));
    }

    private static List<BackupEntry> Parse(string backups) =>
        backups.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Entry).ToList();

    private static BackupEntry Entry(string token)
    {
        var mark = char.IsLetter(token[^1]) ? token[^1] : ' ';
        var days = double.Parse(mark == ' ' ? token : token[..^1], CultureInfo.InvariantCulture);
        var created = Now - TimeSpan.FromDays(days);
        const long size = 1000;
        var sidecar = mark == 'n' ? null : new Sidecar
        {
            Job = "daily",
            Database = "portfolio",
            Created = created,
            SourcePath = "/app/data/portfolio.sqlite",
            RowCounts = new Dictionary<string, long>(),
            Sha256 = new string('0', 64),
            SizeBytes = mark == 's' ? size + 1 : size,
            Compression = "gzip",
            Verified = mark != 'u',
            Stage = mark == 'q' ? 1 : null,
            CellarVersion = "test",
        };

        // The name is the token itself, so the assertions read as the table above.
        return new BackupEntry("/backups/daily/" + token, created, size, sidecar, sidecar is null ? "sidecar missing" : null);
    }
}

using Cellar.Core.Configuration;

using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// A backup is recognised as Cellar's by its name alone, so the names Cellar renders must match back to the
/// time they encode, and nobody else's files may match.
/// </summary>
public sealed class FileNamePatternTests
{
    private const string Daily = "portfolio-{yyyy}-{MM}-{dd}.sqlite";
    private const string Social = "social-tables-{yyyy}-{MM}-{dd}.sql";
    private const string Gallery = "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite";
    private const string Logs = "backend-{yyyy}-{MM}-{dd}.log";

    private static readonly DateTime Local = new(2026, 11, 26, 14, 5, 1);

    private static FileNamePattern Seed(string pattern) => FileNamePattern.Parse(pattern, ".gz");

    [Theory]
    [InlineData(Daily, null, "portfolio-2026-11-26.sqlite.gz", false)]
    [InlineData(Social, null, "social-tables-2026-11-26.sql.gz", false)]
    [InlineData(Logs, null, "backend-2026-11-26.log.gz", false)]
    [InlineData(Gallery, "summer-collection-2025", "gallery-added-summer-collection-2025-20261126-140501.sqlite.gz", true)]
    public void A_rendered_seed_name_matches_back_to_its_time_and_tag(string pattern, string? tag, string expected, bool hasTime)
    {
        var names = Seed(pattern);

        var name = names.Render(Local, tag);

        Assert.Equal(expected, name);
        Assert.True(names.TryMatch(name, out var local, out var matchedTag));
        Assert.Equal(hasTime ? Local : Local.Date, local);
        Assert.Equal(tag, matchedTag);
    }

    [Theory]
    [InlineData(1, "portfolio-2026-11-26-140501.sqlite.gz")]
    [InlineData(2, "portfolio-2026-11-26-140501-2.sqlite.gz")]
    [InlineData(17, "portfolio-2026-11-26-140501-17.sqlite.gz")]
    public void A_collision_suffix_is_recognised_and_supplies_the_time_of_day(int collision, string expected)
    {
        var names = Seed(Daily);

        var name = names.Render(Local, null, collision);

        Assert.Equal(expected, name);
        Assert.True(names.TryMatch(name, out var local, out var tag));
        Assert.Equal(Local, local);
        Assert.Null(tag);
    }

    [Theory]
    [InlineData(Social, 1, "social-tables-2026-11-26-140501.sql.gz")]
    [InlineData(Gallery, 1, "gallery-added-summer-20261126-140501-140501.sqlite.gz")]
    [InlineData(Gallery, 2, "gallery-added-summer-20261126-140501-140501-2.sqlite.gz")]
    public void A_collision_suffix_goes_right_after_the_last_token_of_any_seed_pattern(string pattern, int collision, string expected)
    {
        var names = Seed(pattern);
        var tag = names.HasTag ? "summer" : null;

        var name = names.Render(Local, tag, collision);

        Assert.Equal(expected, name);
        Assert.True(names.TryMatch(name, out var local, out var matchedTag));
        Assert.Equal(Local, local);
        Assert.Equal(tag, matchedTag);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("2025")]
    [InlineData("summer-collection-2025")]
    [InlineData("x-20261126-140501")]
    [InlineData("gallery-added-x")]
    public void A_gallery_tag_of_any_slug_shape_round_trips(string tag)
    {
        var names = Seed(Gallery);

        foreach (var collision in new[] { 0, 1, 2 })
        {
            var name = names.Render(Local, tag, collision);

            Assert.True(names.TryMatch(name, out var local, out var matchedTag), name);
            Assert.Equal(Local, local);
            Assert.Equal(tag, matchedTag);
        }
    }

    [Theory]
    [InlineData("portfolio-latest.sqlite.gz")]
    [InlineData("portfolio-2026-13-45.sqlite.gz")]
    [InlineData("portfolio-2026-02-30.sqlite.gz")]
    [InlineData("notes.txt")]
    [InlineData(".portfolio-2026-11-26.sqlite.gz.cellar-tmp-0a1b2c3d")]
    [InlineData("portfolio-2026-11-26.sqlite.gz.json")]
    [InlineData("portfolio-2026-11-26.sqlite")]
    [InlineData("portfolio-2026-11-26.sqlite.zst")]
    [InlineData("portfolio-2026-11-26.sqlite.gz.bak")]
    [InlineData("old-portfolio-2026-11-26.sqlite.gz")]
    [InlineData("portfolio-26-11-26.sqlite.gz")]
    [InlineData("portfolio-2026-11-26-1405.sqlite.gz")]
    [InlineData("portfolio-2026-11-26-250000.sqlite.gz")]
    [InlineData("portfolio-2026-11-26-140501-.sqlite.gz")]
    [InlineData("portfolio-2026-11-26-copy.sqlite.gz")]
    [InlineData("PORTFOLIO-2026-11-26.SQLITE.GZ")]
    [InlineData("social-tables-2026-11-26.sql.gz")]
    public void A_strangers_file_does_not_match_the_daily_pattern(string name)
    {
        Assert.False(Seed(Daily).TryMatch(name, out _, out _));
    }

    [Theory]
    [InlineData("gallery-added--20261126-140501.sqlite.gz")]
    [InlineData("gallery-added-Summer-20261126-140501.sqlite.gz")]
    [InlineData("gallery-added-summer_2025-20261126-140501.sqlite.gz")]
    [InlineData("gallery-added-summer-20261126-146001.sqlite.gz")]
    [InlineData("gallery-added-summer-20261126.sqlite.gz")]
    public void A_gallery_name_with_a_bad_tag_or_time_does_not_match(string name)
    {
        Assert.False(Seed(Gallery).TryMatch(name, out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("portfolio.sqlite")]
    [InlineData("portfolio-{yyyy}-{MM}.sqlite")]
    [InlineData("sub/portfolio-{yyyy}-{MM}-{dd}.sqlite")]
    [InlineData(".portfolio-{yyyy}-{MM}-{dd}.sqlite")]
    [InlineData("portfolio-{yyyy}-{MM}-{dd}-{yyyy}.sqlite")]
    [InlineData("portfolio-{yyyy}-{MM}-{dd}-{when}.sqlite")]
    [InlineData("portfolio-{yyyy}-{MM}-{dd.sqlite")]
    public void A_pattern_that_could_not_be_read_back_is_refused(string pattern)
    {
        Assert.Throws<FormatException>(() => FileNamePattern.Parse(pattern, ".gz"));
    }

    [Fact]
    public void Without_compression_names_have_no_extension_added()
    {
        var names = FileNamePattern.Parse(Daily, "");

        Assert.Equal("portfolio-2026-11-26.sqlite", names.Render(Local, null));
        Assert.False(names.TryMatch("portfolio-2026-11-26.sqlite.gz", out _, out _));
    }
}

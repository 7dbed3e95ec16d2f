using System.Text.RegularExpressions;

using Cellar.Core.Configuration;

using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// Caller-supplied tags reach file names only as slugs: lowercase letters and digits joined by '-', at most 64 bytes,
/// never a path or a shell fragment; tags that could mislead a reader are refused outright.
/// </summary>
public sealed partial class SlugTests
{
    [Theory]
    [InlineData("Summer Collection 2025", "summer-collection-2025")]
    [InlineData("Café Noël", "cafe-noel")]
    [InlineData("Straße", "strasse")]
    [InlineData("Ærøskøbing Œuvre", "aeroskobing-oeuvre")]
    [InlineData("Ångström Żółć", "angstrom-zolc")]
    [InlineData("ÉCOLE Ünïcödé", "ecole-unicode")]
    [InlineData("Cafe\u0301 Noe\u0308l", "cafe-noel")]
    [InlineData("\"; rm -rf / #", "rm-rf")]
    [InlineData("$(reboot)", "reboot")]
    [InlineData("`reboot`", "reboot")]
    [InlineData("../../etc/passwd", "etc-passwd")]
    [InlineData("C:\\Windows\\System32", "c-windows-system32")]
    [InlineData("  --Spaces__and--dashes--  ", "spaces-and-dashes")]
    [InlineData("🎉🎉🎉", "")]
    [InlineData("", "")]
    [InlineData("---", "")]
    public void A_tag_becomes_a_safe_slug(string tag, string expected)
    {
        Assert.Equal(expected, Slug.From(tag));
    }

    [Fact]
    public void A_300_character_tag_is_cut_to_at_most_64_characters()
    {
        var tag = string.Concat(Enumerable.Repeat("Summer Straße ", 22))[..300];

        var slug = Slug.From(tag);

        Assert.InRange(slug.Length, 1, Slug.MaxLength);
        Assert.Matches(SlugShape(), slug);
        Assert.StartsWith("summer-strasse-summer", slug, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab ")]
    [InlineData("ß")]
    [InlineData("é ")]
    public void A_long_tag_never_leaves_a_trailing_dash_or_exceeds_the_limit(string unit)
    {
        for (var count = 20; count <= 100; count++)
        {
            var slug = Slug.From(string.Concat(Enumerable.Repeat(unit, count)));

            Assert.True(slug.Length <= Slug.MaxLength, slug);
            Assert.Matches(SlugShape(), slug);
        }
    }

    [Theory]
    [InlineData("Summer Collection 2025")]
    [InlineData("Café Noël")]
    [InlineData("\"; rm -rf / #")]
    [InlineData("../../etc/passwd")]
    [InlineData("2026-11-26 14:05:01")]
    public void Every_slug_fits_the_tag_slot_of_the_gallery_pattern(string tag)
    {
        var names = FileNamePattern.Parse("gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite", ".gz");
        var slug = Slug.From(tag);
        var local = new DateTime(2026, 11, 26, 14, 5, 1);

        Assert.True(names.TryMatch(names.Render(local, slug), out var matched, out var matchedTag));
        Assert.Equal(local, matched);
        Assert.Equal(slug, matchedTag);
    }

    [Theory]
    [InlineData("Summer Collection 2025")]
    [InlineData("Café Noël")]
    [InlineData("$(reboot)")]
    public void An_ordinary_tag_has_no_problem(string tag)
    {
        Assert.Null(Slug.Problem(tag));
    }

    [Fact]
    public void A_tag_of_exactly_256_characters_is_accepted_and_257_refused()
    {
        Assert.Null(Slug.Problem(new string('a', 256)));
        Assert.Contains("256", Slug.Problem(new string('a', 257)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("summer\0collection")]
    [InlineData("summer\ncollection")]
    [InlineData("summer\u0007")]
    [InlineData("\u001b[31mred")]
    [InlineData("invoice\u202Efdp.exe")]
    [InlineData("summer\u200Bcollection")]
    public void A_tag_with_control_or_bidi_characters_is_refused(string tag)
    {
        Assert.NotNull(Slug.Problem(tag));
    }

    [Theory]
    [InlineData("🎉🎉🎉")]
    [InlineData("   ")]
    [InlineData("../..")]
    [InlineData("")]
    public void A_tag_with_nothing_to_put_in_a_file_name_is_refused(string tag)
    {
        Assert.NotNull(Slug.Problem(tag));
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex SlugShape();
}

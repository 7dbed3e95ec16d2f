using System.Globalization;
using System.Text;
using Cellar.Core.Configuration;
using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// Users name galleries in their own language: the slug keeps the letters and digits of every script (lowercased),
/// with the marks those scripts need, while Latin names keep today's transliteration.
/// </summary>
public sealed class SlugScriptTests
{
    [Theory]
    [InlineData("Лето 2026", "лето-2026")]
    [InlineData("Καλοκαίρι", "καλοκαίρι")]
    [InlineData("ΕΛΛΆΔΑ", "ελλάδα")]
    [InlineData("夏", "夏")]
    [InlineData("夏の思い出", "夏の思い出")]
    [InlineData("サマー・コレクション", "サマー-コレクション")]
    [InlineData("서울 2026", "서울-2026")]
    [InlineData("नमस्ते दुनिया", "नमस्ते-दुनिया")]
    [InlineData("שלום עולם", "שלום-עולם")]
    [InlineData("مرحبا بالعالم ٢٠٢٦", "مرحبا-بالعالم-٢٠٢٦")]
    [InlineData("สวัสดี", "สวัสดี")]
    [InlineData("Straße Лето", "strasse-лето")]
    [InlineData("Café Ήλιος", "cafe-ήλιος")]
    [InlineData("𠀀𠀁 2026", "𠀀𠀁-2026")]
    [InlineData("🎉 Лето 🎉", "лето")]
    public void Letters_and_digits_of_every_script_stay_in_the_slug(string tag, string expected)
    {
        Assert.Equal(expected, Slug.From(tag));
        Assert.Null(Slug.Problem(tag));
    }

    [Theory]
    [InlineData("Cafe\u0301 Noe\u0308l", "cafe-noel")]
    [InlineData("ÀÉÎÕÜ Ç", "aeiou-c")]
    [InlineData("Ærøskøbing", "aeroskobing")]
    public void Latin_names_keep_todays_transliteration_and_decomposed_accents_are_dropped(string tag, string expected)
    {
        Assert.Equal(expected, Slug.From(tag));
    }

    [Theory]
    [InlineData("🎉🎉🎉")]
    [InlineData("1\uFE0F\u20E3 2\uFE0F\u20E3")]
    [InlineData("\u2764\uFE0F")]
    [InlineData("🇩🇪 👨\u200D👩\u200D👧")]
    [InlineData("\u0301\u0308")]
    public void Emoji_and_marks_alone_still_leave_nothing_to_name_a_file_after(string tag)
    {
        Assert.Equal("", Slug.From(tag));
        Assert.NotNull(Slug.Problem(tag));
    }

    [Fact]
    public void A_Persian_name_with_a_zero_width_non_joiner_is_accepted()
    {
        Assert.Null(Slug.Problem("می\u200Cخواهم"));
        Assert.Equal("میخواهم", Slug.From("می\u200Cخواهم"));
    }

    [Theory]
    [InlineData("Summer \uD800")]
    [InlineData("\uDC00 Summer")]
    [InlineData("Summer \uFFFD")]
    public void Text_that_is_not_valid_unicode_is_refused_as_such(string tag)
    {
        Assert.Contains("not valid text", Slug.Problem(tag), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Καλοκαίρι ")]
    [InlineData("夏")]
    [InlineData("𠀀")]
    [InlineData("नमस्ते ")]
    [InlineData("ä̃")]
    [InlineData("a𠀀")]
    [InlineData("कि")]
    public void A_long_name_is_cut_between_whole_characters_within_the_limit(string unit)
    {
        for (var count = 1; count <= 120; count++)
        {
            var tag = string.Concat(Enumerable.Repeat(unit, count));
            var slug = Slug.From(tag);

            Assert.NotEqual("", slug);
            Assert.InRange(Encoding.UTF8.GetByteCount(slug), 1, Slug.MaxLength);
            Assert.False(slug.EndsWith('-'), slug);
            var whole = Slug.From(string.Concat(Enumerable.Repeat(unit, 200))).Length > slug.Length ? FullSlug(unit, count) : slug;
            Assert.StartsWith(slug, whole, StringComparison.Ordinal);
            Assert.True(IsTextElementBoundary(whole, slug.Length), $"'{slug}' cuts a character of '{whole}' apart");
            Assert.Equal(slug, Slug.From(slug));
        }
    }

    [Theory]
    [InlineData("Лето 2026")]
    [InlineData("Καλοκαίρι")]
    [InlineData("夏の思い出")]
    [InlineData("नमस्ते दुनिया")]
    [InlineData("𠀀𠀁 2026")]
    [InlineData("Việt Nam")]
    public void Every_script_slug_fits_the_tag_slot_wherever_the_tag_is(string tag)
    {
        var slug = Slug.From(tag);
        var local = new DateTime(2026, 11, 26, 14, 5, 1);
        foreach (var pattern in new[] { "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite", "backend-{yyyy}-{MM}-{dd}-{tag}.log" })
        {
            var names = FileNamePattern.Parse(pattern, ".gz");
            for (var collision = 0; collision <= 2; collision++)
            {
                Assert.True(names.TryMatch(names.Render(local, slug, collision), out var matched, out var matchedTag), names.Render(local, slug, collision));
                Assert.Equal(slug, matchedTag);
                Assert.Equal(local.Date, matched.Date);
            }
        }
    }

    [Fact]
    public void A_name_whose_tag_holds_uppercase_or_a_symbol_is_not_taken_for_a_backup()
    {
        var names = FileNamePattern.Parse("gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite", ".gz");

        Assert.False(names.TryMatch("gallery-added-Summer-20261126-140501.sqlite.gz", out _, out _));
        Assert.False(names.TryMatch("gallery-added-ЛЕТО-20261126-140501.sqlite.gz", out _, out _));
        Assert.False(names.TryMatch("gallery-added-🎉-20261126-140501.sqlite.gz", out _, out _));
        Assert.False(names.TryMatch("gallery-added-summer-٢٠٢٦١١٢٦-140501.sqlite.gz", out _, out _));
    }

    /// <summary>The slug of <paramref name="unit"/> repeated <paramref name="count"/> times when no limit applied.</summary>
    private static string FullSlug(string unit, int count)
    {
        var one = Slug.From(unit);
        var separated = unit.EndsWith(' ');
        return separated ? string.Join('-', Enumerable.Repeat(one, count)) : string.Concat(Enumerable.Repeat(one, count));
    }

    private static bool IsTextElementBoundary(string text, int index) =>
        index == text.Length || StringInfo.ParseCombiningCharacters(text).Contains(index);
}

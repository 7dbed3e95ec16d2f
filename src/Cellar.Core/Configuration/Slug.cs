using System.Globalization;
using System.Text;

namespace Cellar.Core.Configuration;

/// <summary>
/// Turns caller-supplied text (a gallery name) into the only thing that may reach a file name: lowercase letters and
/// digits of any script, with the marks their letters carry, separated by single '-', at most 64 bytes of UTF-8.
/// Latin letters with accents are transliterated ("Café Noël" → "cafe-noel"), other scripts are kept
/// ("Лето 2026" → "лето-2026", "夏" → "夏"); everything else (spaces, punctuation, symbols, emoji) separates words.
/// The original text is kept in the sidecar.
/// </summary>
public static class Slug
{
    /// <summary>
    /// The longest slug, in UTF-8 bytes: 64 ASCII characters, 21 CJK ones. Bytes, because file names are limited in
    /// bytes (255) and the slug shares one with the pattern, a collision suffix and a temp name's marker.
    /// </summary>
    public const int MaxLength = 64;

    /// <summary>The longest tag accepted, before slugging.</summary>
    public const int MaxTagLength = 256;

    /// <summary>Why text that is not Unicode is refused, to follow "the tag is" or a field's name.</summary>
    public const string NotValidText = "not valid text (a lone UTF-16 surrogate, or bytes that are not UTF-8)";

    private static readonly Dictionary<char, string> Special = new()
    {
        ['ß'] = "ss", ['æ'] = "ae", ['Æ'] = "ae", ['ø'] = "o", ['Ø'] = "o", ['œ'] = "oe", ['Œ'] = "oe",
        ['ł'] = "l", ['Ł'] = "l", ['đ'] = "d", ['Đ'] = "d", ['þ'] = "th", ['Þ'] = "th", ['ð'] = "d",
    };

    // Precomposed Latin letters (U+00C0..U+024F) and their base letters. Cellar runs with
    // InvariantGlobalization, where string.Normalize returns non-ASCII text unchanged (checked on .NET 10: neither NFC
    // nor NFD), so the table does it; accents that arrive already split are dropped as the marks of a Latin letter.
    private const string Accented = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ";
    private const string AccentedBase = "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy";

    /// <summary>
    /// Why <paramref name="tag"/> is refused, or null when it is acceptable: too long, not valid text (a lone UTF-16
    /// surrogate, or U+FFFD where a decoder met bytes that are not UTF-8), control or formatting characters (a
    /// right-to-left override can disguise a name in logs), or nothing left after slugging.
    /// </summary>
    public static string? Problem(string tag)
    {
        if (tag.Length > MaxTagLength)
        {
            return $"tag is longer than {MaxTagLength} characters";
        }

        if (!IsValidText(tag))
        {
            return $"tag is {NotValidText}";
        }

        // The zero-width (non-)joiners are how Persian and Indic scripts spell some words; they never reach the slug.
        if (tag.Any(c => char.IsControl(c) || (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format && c is not ('\u200C' or '\u200D'))))
        {
            return "tag contains control or formatting characters";
        }

        return From(tag).Length == 0 ? "tag has no letters or digits to put in a file name" : null;
    }

    /// <summary>The slug of <paramref name="text"/>; empty when nothing usable is left.</summary>
    public static string From(string text)
    {
        var builder = new StringBuilder(MaxLength);
        var bytes = 0;
        var pendingDash = false;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            var piece = Piece(elements.GetTextElement());
            if (piece is null)
            {
                pendingDash = builder.Length > 0;
                continue;
            }

            if (piece.Length == 0)
            {
                continue;
            }

            // Whole characters only: a cut inside a surrogate pair or between a letter and its marks would leave a
            // name that is not text, or that shows another letter.
            var needed = Encoding.UTF8.GetByteCount(piece) + (pendingDash ? 1 : 0);
            if (bytes + needed > MaxLength)
            {
                break;
            }

            if (pendingDash)
            {
                builder.Append('-');
                pendingDash = false;
            }

            builder.Append(piece);
            bytes += needed;
        }

        return builder.ToString();
    }

    /// <summary>
    /// What one user-perceived character (a letter with its marks, an emoji sequence) becomes: its slug text, "" to
    /// drop it, or null for a word separator.
    /// </summary>
    private static string? Piece(string element)
    {
        foreach (var rune in element.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.EnclosingMark)
            {
                return null; // a keycap ("1" + U+20E3) or an enclosed letter is an emoji, not a digit or a letter
            }
        }

        var baseRune = Rune.GetRuneAt(element, 0);
        var lower = Rune.ToLowerInvariant(baseRune);
        var category = Rune.GetUnicodeCategory(lower);
        if (lower.IsAscii)
        {
            // The marks of a Latin letter are its accents: "e" + U+0301 is "e", as "é" is.
            return Rune.IsLetterOrDigit(lower) ? ((char)lower.Value).ToString() : IsMark(category) ? "" : null;
        }

        if (lower.IsBmp && Special.TryGetValue((char)lower.Value, out var special))
        {
            return special;
        }

        if (lower.IsBmp && Accented.IndexOf((char)lower.Value, StringComparison.Ordinal) is >= 0 and var i)
        {
            return AccentedBase[i].ToString();
        }

        if (IsMark(category))
        {
            return ""; // a mark with no letter before it
        }

        // Uppercase left after lowercasing (a letter with no lowercase form) could never match a file name's tag.
        if (category is not (UnicodeCategory.LowercaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber))
        {
            return null;
        }

        // Other scripts need their marks (Devanagari vowel signs, Hebrew points); variation selectors and the
        // zero-width joiners are invisible and stay out of file names.
        var piece = new StringBuilder(element.Length).Append(lower.ToString());
        foreach (var rune in element.AsSpan(baseRune.Utf16SequenceLength).EnumerateRunes())
        {
            if (IsMark(Rune.GetUnicodeCategory(rune)) && !IsVariationSelector(rune))
            {
                piece.Append(Rune.ToLowerInvariant(rune).ToString());
            }
        }

        return piece.ToString();
    }

    private static bool IsMark(UnicodeCategory category) =>
        category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    private static bool IsVariationSelector(Rune rune) => rune.Value is (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF);

    private static bool IsValidText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\uFFFD' || (char.IsHighSurrogate(text[i]) ? ++i >= text.Length || !char.IsLowSurrogate(text[i]) : char.IsLowSurrogate(text[i])))
            {
                return false;
            }
        }

        return true;
    }
}

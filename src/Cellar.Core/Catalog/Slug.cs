using System.Globalization;
using System.Text;

namespace Cellar.Core.Catalog;

/// <summary>
/// Turns caller-supplied text (a gallery name) into the only thing that may reach a file name:
/// <c>[a-z0-9-]</c>, at most 64 characters. Letters with accents are transliterated ("Café Noël" → "cafe-noel");
/// everything else becomes a separator. The original text is kept in the sidecar.
/// </summary>
public static class Slug
{
    /// <summary>The longest slug.</summary>
    public const int MaxLength = 64;

    private static readonly Dictionary<char, string> Special = new()
    {
        ['ß'] = "ss", ['æ'] = "ae", ['Æ'] = "ae", ['ø'] = "o", ['Ø'] = "o", ['œ'] = "oe", ['Œ'] = "oe",
        ['ł'] = "l", ['Ł'] = "l", ['đ'] = "d", ['Đ'] = "d", ['þ'] = "th", ['Þ'] = "th", ['ð'] = "d",
    };

    // Precomposed Latin letters (U+00C0..U+024F) and their base letters. Cellar runs with InvariantGlobalization,
    // where string.Normalize cannot split "é" into "e" and an accent, so the table does it; combining accents that
    // arrive already split are dropped as non-spacing marks.
    private const string Accented = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ";
    private const string AccentedBase = "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy";

    /// <summary>The longest tag accepted, before slugging.</summary>
    public const int MaxTagLength = 256;

    /// <summary>Why text that is not Unicode is refused, to follow "the tag is" or a field's name.</summary>
    public const string NotValidText = "not valid text (a lone UTF-16 surrogate, or bytes that are not UTF-8)";

    /// <summary>
    /// Why <paramref name="tag"/> is refused, or null when it is acceptable: too long, not valid text (a lone UTF-16
    /// surrogate, or U+FFFD where a decoder met bytes that are not UTF-8), control or bidi-format characters (a
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

        if (tag.Any(c => char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format))
        {
            return "tag contains control or formatting characters";
        }

        return From(tag).Length == 0 ? "tag has no letters or digits to put in a file name" : null;
    }

    /// <summary>The slug of <paramref name="text"/>; empty when nothing usable is left.</summary>
    public static string From(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxLength));
        var pendingDash = false;
        foreach (var c in text)
        {
            var piece = Special.TryGetValue(c, out var s) ? s
                : Accented.IndexOf(c, StringComparison.Ordinal) is >= 0 and var i ? AccentedBase[i].ToString()
                : CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark ? ""
                : char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c).ToString()
                : null;
            if (piece is null)
            {
                pendingDash = builder.Length > 0;
                continue;
            }

            if (piece.Length == 0)
            {
                continue;
            }

            if (pendingDash)
            {
                builder.Append('-');
                pendingDash = false;
            }

            builder.Append(piece);
            if (builder.Length >= MaxLength)
            {
                break;
            }
        }

        return builder.Length > MaxLength ? builder.ToString(0, MaxLength).TrimEnd('-') : builder.ToString();
    }

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

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Cellar.Core.Configuration;

/// <summary>
/// A backup file name such as <c>portfolio-{yyyy}-{MM}-{dd}.sqlite</c>: rendered when a backup is made and
/// matched when backups are listed, so a file is recognised as Cellar's by its name alone even when its
/// sidecar is gone. Tokens: <c>{yyyy} {MM} {dd} {HH} {mm} {ss}</c> (local time in the configured zone) and
/// <c>{tag}</c> (a <see cref="Slug"/>, in any script). When a name is already taken, <c>-HHmmss</c> and then <c>-N</c> go right after the
/// last token (<c>portfolio-2026-11-26-140501.sqlite.gz</c>), so a second run never overwrites a backup.
/// </summary>
public sealed partial class FileNamePattern
{
    private const char CollisionMark = '\u0001';

    // What a slug is made of (Slug decides exactly: a match must also be a slug of itself): lowercase and other letters,
    // marks and digits of any script, or a surrogate pair (letters beyond the BMP, such as CJK extension B). Date
    // digits are [0-9] only, since \d would also take Arabic-Indic digits that no date is written in.
    private const string SlugCharacter = @"(?:[\p{Ll}\p{Lm}\p{Lo}\p{Mn}\p{Mc}\p{Nd}]|[\uD800-\uDBFF][\uDC00-\uDFFF])";
    private static readonly string[] Tokens = ["yyyy", "MM", "dd", "HH", "mm", "ss", "tag"];
    private readonly Regex _regex;
    private readonly int _tokenEnd;

    private FileNamePattern(string pattern, string extension, Regex regex, int tokenEnd)
    {
        Pattern = pattern;
        Extension = extension;
        _regex = regex;
        _tokenEnd = tokenEnd;
    }

    /// <summary>The pattern as configured, without the compression extension.</summary>
    public string Pattern { get; }

    /// <summary>The compression extension appended to every name (".gz", ".zst" or "").</summary>
    public string Extension { get; }

    /// <summary>True when names carry a <c>{tag}</c>, so a tag is required.</summary>
    public bool HasTag => Pattern.Contains("{tag}", StringComparison.Ordinal);

    /// <summary>Parses a pattern; throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static FileNamePattern Parse(string pattern, string extension)
    {
        if (pattern.Length == 0 || pattern.Contains('/', StringComparison.Ordinal) || pattern.Contains('\\', StringComparison.Ordinal) || pattern.StartsWith('.'))
        {
            throw new FormatException($"'{pattern}' must be a plain file name (no '/', not starting with '.')");
        }

        var regex = new StringBuilder("^");
        var seen = new HashSet<string>();
        var rest = pattern.AsSpan();
        while (rest.Length > 0)
        {
            var open = rest.IndexOf('{');
            if (open < 0)
            {
                regex.Append(Regex.Escape(rest.ToString()));
                break;
            }

            regex.Append(Regex.Escape(rest[..open].ToString()));
            var close = rest[open..].IndexOf('}');
            var token = close < 0 ? null : rest.Slice(open + 1, close - 1).ToString();
            if (token is null || Array.IndexOf(Tokens, token) < 0)
            {
                throw new FormatException($"'{pattern}' has an unknown token; use {{{string.Join("} {", Tokens)}}}");
            }

            if (!seen.Add(token))
            {
                throw new FormatException($"'{pattern}' uses {{{token}}} twice");
            }

            regex.Append(token == "tag" ? $"(?<tag>{SlugCharacter}+(?:-{SlugCharacter}+)*?)" : $"(?<{token}>[0-9]{{{token.Length}}})");
            regex.Append(CollisionMark);
            rest = rest[(open + close + 1)..];
        }

        if (!seen.Contains("yyyy") || !seen.Contains("MM") || !seen.Contains("dd"))
        {
            throw new FormatException($"'{pattern}' must contain {{yyyy}}, {{MM}} and {{dd}}: retention reads the date from the name");
        }

        // Only the last token is followed by the optional collision suffix.
        var text = regex.Append(Regex.Escape(extension)).Append('$').ToString();
        var last = text.LastIndexOf(CollisionMark);
        text = text.Remove(last, 1).Insert(last, @"(?:-(?<sfx>[0-9]{6})(?:-(?<n>[0-9]+))?)?").Replace(CollisionMark.ToString(), "", StringComparison.Ordinal);
        var tokenEnd = pattern.LastIndexOf('}') + 1;
        return new FileNamePattern(pattern, extension, new Regex(text, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture), tokenEnd);
    }

    /// <summary>The name for a backup made at <paramref name="local"/>; <paramref name="collision"/> 0 is the plain name.</summary>
    public string Render(DateTime local, string? tag, int collision = 0)
    {
        var suffix = collision switch
        {
            0 => "",
            1 => "-" + local.ToString("HHmmss", CultureInfo.InvariantCulture),
            _ => "-" + local.ToString("HHmmss", CultureInfo.InvariantCulture) + "-" + collision.ToString(CultureInfo.InvariantCulture),
        };
        var name = new StringBuilder(Pattern.Insert(_tokenEnd, suffix))
            .Replace("{yyyy}", local.ToString("yyyy", CultureInfo.InvariantCulture))
            .Replace("{MM}", local.ToString("MM", CultureInfo.InvariantCulture))
            .Replace("{dd}", local.ToString("dd", CultureInfo.InvariantCulture))
            .Replace("{HH}", local.ToString("HH", CultureInfo.InvariantCulture))
            .Replace("{mm}", local.ToString("mm", CultureInfo.InvariantCulture))
            .Replace("{ss}", local.ToString("ss", CultureInfo.InvariantCulture))
            .Replace("{tag}", tag ?? "");
        return name.Append(Extension).ToString();
    }

    /// <summary>
    /// Matches a file name made by this pattern and reads the local time it encodes (missing time parts are
    /// midnight, a collision suffix supplies the time of day).
    /// </summary>
    public bool TryMatch(string fileName, out DateTime local, out string? tag)
    {
        local = default;
        tag = null;
        var match = _regex.Match(fileName);
        if (!match.Success)
        {
            return false;
        }

        var slug = match.Groups["tag"].Success ? match.Groups["tag"].Value : null;
        if (slug is not null && Slug.From(slug) != slug)
        {
            return false; // letters no slug holds (uppercase, emoji): a stranger's file
        }

        int Part(string name) => match.Groups[name].Success ? int.Parse(match.Groups[name].ValueSpan, CultureInfo.InvariantCulture) : 0;
        var sfx = match.Groups["sfx"];
        var (hour, minute, second) = sfx.Success && !match.Groups["HH"].Success
            ? (int.Parse(sfx.ValueSpan[..2], CultureInfo.InvariantCulture), int.Parse(sfx.ValueSpan[2..4], CultureInfo.InvariantCulture), int.Parse(sfx.ValueSpan[4..], CultureInfo.InvariantCulture))
            : (Part("HH"), Part("mm"), Part("ss"));
        try
        {
            local = new DateTime(Part("yyyy"), Part("MM"), Part("dd"), hour, minute, second, DateTimeKind.Unspecified);
        }
        catch (ArgumentOutOfRangeException)
        {
            return false; // Looks like ours but is no real date (portfolio-2026-13-45): a stranger's file.
        }

        tag = slug;
        return true;
    }
}

using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Cellar.Daemon;

/// <summary>
/// Whether a query parameter is text. ASP.NET decodes the query leniently: <c>?tag=Summer%FF</c> binds as
/// "Summer%FF", which would slug into a name the caller never wrote ("summer-ff"), so the raw value is checked to be
/// percent-encoded UTF-8 before the bound one is used.
/// </summary>
internal static class QueryText
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>True when every value of <paramref name="name"/> in the request's query decodes as UTF-8 (or there is none).</summary>
    public static bool IsText(HttpRequest request, string name)
    {
        foreach (var pair in new QueryStringEnumerable(request.QueryString.Value))
        {
            if (!pair.DecodeName().Span.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            try
            {
                Strict.GetString(Bytes(pair.EncodedValue.Span));
            }
            catch (DecoderFallbackException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The bytes a percent-encoded value stands for ('+' is a space, as in a form).</summary>
    private static byte[] Bytes(ReadOnlySpan<char> encoded)
    {
        var bytes = new List<byte>(encoded.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '%' && i + 2 < encoded.Length
                && byte.TryParse(encoded.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else if (encoded[i] == '+')
            {
                bytes.Add((byte)' ');
            }
            else
            {
                // A character the client sent unencoded; a lone surrogate becomes U+FFFD, which no tag may hold.
                Rune.DecodeFromUtf16(encoded[i..], out var rune, out var consumed);
                bytes.AddRange(utf8[..rune.EncodeToUtf8(utf8)]);
                i += consumed - 1;
            }
        }

        return [.. bytes];
    }
}

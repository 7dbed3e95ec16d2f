using System.Globalization;
using System.Numerics;
using System.Text;

namespace Cellar.Core.Dumps;

/// <summary>
/// Writes a REAL so that every SQLite reads back the very same double. The shortest round-trip decimal is
/// exact only for a correctly rounding parser (SQLite 3.47 and later): older SQLite (3.40 on Debian 12, what
/// the seed's users restore with) scales the digits in long double arithmetic and misreads about one such
/// literal in 6,000 by a unit in the last place. With 19 significant digits the literal lies within 0.01 of a
/// unit in the last place of the double, far inside what that parser's error can move, so it reads back
/// exactly (checked on 1.7 million values against stock sqlite3 3.40). Below 2^-950 the old parser takes a
/// second, inexact scaling step; there the value is written as its integer significand divided by powers of
/// two, which is exact in any IEEE arithmetic.
/// </summary>
internal static class RealLiteral
{
    private const int SignificantDigits = 19;

    // Below this, 19 digits put SQLite's decimal exponent past 307, where its old parser rounds twice.
    private static readonly double SmallestDecimal = Math.ScaleB(1, -950);

    // 2^59: the largest power of two whose integer literal SQLite reads exactly and divides by as a double.
    private const int PowerStep = 59;

    /// <summary>SQL text for <paramref name="value"/> (never NaN: SQLite stores NaN as NULL).</summary>
    public static string Format(double value)
    {
        if (double.IsInfinity(value))
        {
            return value > 0 ? "1e999" : "-1e999";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }

        return Math.Abs(value) < SmallestDecimal ? Exact(value) : Decimal(value);
    }

    /// <summary>Like C's <c>%.19g</c> without trailing zeros, always with a point or an exponent so SQLite reads a REAL.</summary>
    private static string Decimal(double value)
    {
        var scientific = value.ToString("E" + (SignificantDigits - 1), CultureInfo.InvariantCulture);
        var e = scientific.IndexOf('E', StringComparison.Ordinal);
        var exponent = int.Parse(scientific.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var negative = scientific[0] == '-';
        var digits = scientific[(negative ? 1 : 0)..e].Replace(".", string.Empty, StringComparison.Ordinal).TrimEnd('0');

        var text = new StringBuilder(32);
        if (negative)
        {
            text.Append('-');
        }

        if (exponent < -4 || exponent >= SignificantDigits)
        {
            text.Append(digits[0]).Append('.').Append(digits.Length > 1 ? digits.AsSpan(1) : "0");
            text.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (exponent < 0)
        {
            text.Append("0.").Append('0', -exponent - 1).Append(digits);
        }
        else
        {
            var whole = exponent + 1;
            text.Append(digits.Length > whole ? digits.AsSpan(0, whole) : digits).Append('0', Math.Max(0, whole - digits.Length));
            text.Append('.').Append(digits.Length > whole ? digits.AsSpan(whole) : "0");
        }

        return text.ToString();
    }

    /// <summary>m·2^-q as <c>(m.0/2^59/…/2^r)</c>: each division by a power of two is exact, so the result is.</summary>
    private static string Exact(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        var biased = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (biased != 0)
        {
            mantissa |= 1L << 52;
        }

        var shift = 1074 - Math.Max(biased - 1, 0);
        var zeros = Math.Min(BitOperations.TrailingZeroCount(mantissa), shift);
        mantissa >>= zeros;
        shift -= zeros;

        var text = new StringBuilder("(");
        text.Append(value < 0 ? "-" : string.Empty).Append(mantissa.ToString(CultureInfo.InvariantCulture)).Append(".0");
        for (; shift > 0; shift -= PowerStep)
        {
            text.Append('/').Append((1L << Math.Min(shift, PowerStep)).ToString(CultureInfo.InvariantCulture));
        }

        return text.Append(')').ToString();
    }
}

using System.Numerics;
using System.Runtime.InteropServices;

namespace Cellar.Core.Replication;

/// <summary>
/// A page stored as its difference from the version before it: the two XORed. Where a change touches a few bytes of
/// a page (a title rewritten beside an image's incompressible bytes) the difference is nearly all zeros, which
/// compresses to almost nothing, where the page itself would not compress at all.
/// </summary>
internal static class PageXor
{
    /// <summary>Sets <paramref name="into"/> to itself XOR <paramref name="with"/> (same length): the difference, or the page again from it.</summary>
    public static void Apply(Span<byte> into, ReadOnlySpan<byte> with)
    {
        if (into.Length != with.Length)
        {
            throw new ArgumentException("pages of different sizes", nameof(with));
        }

        var wide = MemoryMarshal.Cast<byte, Vector<byte>>(into);
        var other = MemoryMarshal.Cast<byte, Vector<byte>>(with);
        for (var i = 0; i < wide.Length; i++)
        {
            wide[i] ^= other[i];
        }

        for (var i = wide.Length * Vector<byte>.Count; i < into.Length; i++)
        {
            into[i] ^= with[i];
        }
    }
}

using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// A probe of the bytes at the head of a live log that are already archived: SHA-256 of the first and the last
/// <see cref="ProbeBytes"/> of them. Cellar only ever cuts or truncates that head itself, and an appending app only
/// adds at the end, so a head that no longer hashes the same was emptied by someone else (<c>: &gt; backend.log</c>,
/// an app that opens its log with <c>O_TRUNC</c>) and filled again with lines nobody archived. Both ends are probed
/// because a restarted app may well write the same first lines (a banner) again.
/// </summary>
/// <param name="ProbeBytes">How many bytes at each end of the archived head the hash covers.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of those bytes, the first ones then the last ones.</param>
internal sealed record ArchivedHead(int ProbeBytes, string Sha256)
{
    private const int DefaultProbeBytes = 4096;

    /// <summary>The probe of the bytes [<paramref name="start"/>, <paramref name="end"/>) of the file, which become its archived head; null when there are none.</summary>
    public static ArchivedHead? Of(SafeFileHandle handle, long start, long end) =>
        end > start ? new ArchivedHead(DefaultProbeBytes, Hash(handle, start, end, DefaultProbeBytes)) : null;

    /// <summary>True when the file's first <paramref name="archived"/> bytes still hash as probed.</summary>
    public bool Matches(SafeFileHandle handle, long archived) =>
        RandomAccess.GetLength(handle) >= archived && Hash(handle, 0, archived, ProbeBytes) == Sha256;

    private static string Hash(SafeFileHandle handle, long start, long end, int probeBytes)
    {
        var length = (int)Math.Min(probeBytes, end - start);
        var bytes = new byte[2 * length];
        var first = RandomAccess.Read(handle, bytes.AsSpan(0, length), start);
        var last = RandomAccess.Read(handle, bytes.AsSpan(first, length), end - length);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, first + last)));
    }
}

using System.Security.Cryptography;

namespace Cellar.Core.IO;

/// <summary>
/// A pass-through stream that hashes (SHA-256) and counts every byte written or read through it, so a
/// backup's checksum costs no second pass over the file.
/// </summary>
internal sealed class HashingStream(Stream inner, bool leaveOpen = false) : CountingStream(inner, leaveOpen)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The lowercase hex SHA-256 of everything so far.</summary>
    public string HexHash() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    protected override void Append(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        base.Append(data);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}

using System.Buffers;
using System.IO.Hashing;

namespace Cellar.Core.Compression;

/// <summary>
/// What <see cref="ParallelCompressor"/> wrote: how many bytes went in, and the length and fingerprint (XXH3) of each
/// proven piece, in file order. Reading the file back against them shows it holds exactly the proven pieces, so it
/// decompresses to exactly what went in, for the price of one read of the stored bytes rather than a second
/// decompression and a second read of the input.
/// </summary>
internal sealed class StoredPieces
{
    private readonly List<(int Length, ulong Fingerprint)> _pieces = [];

    /// <summary>Bytes of input compressed.</summary>
    public long InputBytes { get; set; }

    /// <summary>Records the next piece written.</summary>
    public void Add(int length, ulong fingerprint) => _pieces.Add((length, fingerprint));

    /// <summary>
    /// Null when <paramref name="path"/> holds exactly the pieces, in order, and nothing after them; else where it
    /// differs (a write that went wrong between the proof and the disk, or a file changed since).
    /// </summary>
    public string? Changed(string path, CancellationToken cancellationToken)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = ArrayPool<byte>.Shared.Rent(_pieces.Count == 0 ? 1 : _pieces.Max(p => p.Length));
        try
        {
            long offset = 0;
            foreach (var (length, fingerprint) in _pieces)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var read = file.ReadAtLeast(buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
                if (read < length)
                {
                    return $"the stored file ends at byte {offset + read}, short of the {_pieces.Sum(p => (long)p.Length)} written";
                }

                if (XxHash3.HashToUInt64(buffer.AsSpan(0, length)) != fingerprint)
                {
                    return $"the stored file's bytes {offset} to {offset + length} are not the ones proven and written";
                }

                offset += length;
            }

            return file.Read(buffer.AsSpan(0, 1)) == 0 ? null : $"the stored file goes on past the {offset} bytes written";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

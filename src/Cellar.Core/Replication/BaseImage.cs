using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Replication;

/// <summary>
/// The database exactly as a read transaction sees it, page for page: the database file with the newest frame of
/// each page the WAL holds up to the base's position laid over it. The follower's read transaction keeps it stable
/// while it is copied: no checkpoint can copy a frame past the reader's mark into the file, nor restart the WAL.
/// Unlike SQLite's backup API, which rewrites the header of the copy, this is the app's very bytes, so a restore can
/// be compared page for page with the live database.
/// </summary>
internal sealed class BaseImage(string database, SafeFileHandle wal, WalHeader? header, IReadOnlyDictionary<uint, long> overlay, int pageSize, long pages, DateTimeOffset taken)
{
    private const int PagesPerRead = 256;

    /// <summary>Writes the image to the new file <paramref name="copyPath"/> (owner-only) and fsyncs it.</summary>
    public Task<SnapshotInfo> CopyAsync(string copyPath, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var output = SecureFiles.CreateNew(copyPath);
        WriteTo(output, cancellationToken);
        Fsync.File(output);
        return new SnapshotInfo(pageSize, pages, "wal", null, taken);
    }, cancellationToken);

    /// <summary>The image's SHA-256, as lowercase hex.</summary>
    public string Hash(CancellationToken cancellationToken)
    {
        using var hash = new HashingStream(Stream.Null);
        WriteTo(hash, cancellationToken);
        return hash.HexHash();
    }

    private void WriteTo(Stream output, CancellationToken cancellationToken)
    {
        using var source = File.OpenHandle(database, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[PagesPerRead * pageSize];
        for (long first = 1; first <= pages; first += PagesPerRead)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = (int)Math.Min(PagesPerRead, pages - first + 1);
            var chunk = buffer.AsSpan(0, count * pageSize);
            var read = RandomAccess.Read(source, chunk, (first - 1) * pageSize);
            chunk[read..].Clear();
            for (var i = 0; i < count; i++)
            {
                if (overlay.TryGetValue((uint)(first + i), out var frame))
                {
                    WalReader.ReadPage(wal, header!.Value, frame, chunk.Slice(i * pageSize, pageSize));
                }
            }

            output.Write(chunk);
        }
    }
}

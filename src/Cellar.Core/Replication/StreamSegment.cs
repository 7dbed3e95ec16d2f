using Cellar.Core.Compression;
using Cellar.Core.IO;

namespace Cellar.Core.Replication;

/// <summary>
/// Sealed segments: the journal's records, zstd-compressed into a file named by the first and last transaction it
/// holds, written the way every Cellar file is (temp name, fsync, read back and checked, rename, fsync the folder), so a
/// segment under its final name is always whole. Sealing turns a day of batches into few files, which is what a
/// restore reads and what goes offsite.
/// </summary>
internal static class StreamSegment
{
    private static readonly Codec Zstd = Codec.For(CompressionKind.Zstd, 3);

    /// <summary>Seals the journal's records into a segment and empties the journal; returns the segment's path, or null when it was empty.</summary>
    public static string? Seal(Generation generation, StreamJournal journal, CancellationToken cancellationToken)
    {
        if (journal.Records.Count == 0)
        {
            return null;
        }

        string path;
        using (var input = new FileStream(journal.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16))
        {
            path = Write(generation, journal.Records[0].Txid, journal.Records[^1].Txid, input, cancellationToken);
        }

        journal.Clear();
        return path;
    }

    /// <summary>
    /// Writes the records <paramref name="records"/> holds (to its end), transactions <paramref name="first"/> to
    /// <paramref name="last"/>, as the segment of that range: temp name, compressed, fsynced, read back and checked (every
    /// record whole, first to last in order), renamed. Returns its path.
    /// </summary>
    public static string Write(Generation generation, long first, long last, Stream records, CancellationToken cancellationToken)
    {
        var path = generation.SegmentPath(first, last);
        using var temp = TempFile.For(generation.Folder, Path.GetFileName(path));
        using (var output = SecureFiles.CreateNew(temp.Path))
        {
            Compress(records, output, cancellationToken);
            Fsync.File(output);
        }

        // Read back from the disk's copy before it takes a final name: every record whole, first to last in order.
        var count = 0L;
        foreach (var record in Records(temp.Path, generation.Manifest.PageSize, path))
        {
            if (record.Txid != first + count)
            {
                throw new CellarException($"segment {path} does not read back as written (transaction {record.Txid} where {first + count} belongs)");
            }

            count++;
        }

        if (first + count - 1 != last)
        {
            throw new CellarException($"segment {path} does not read back as written ({count} transactions, not {last - first + 1})");
        }

        temp.Commit(path, replace: false);
        return path;
    }

    /// <summary>The records of the segment at <paramref name="path"/>, decompressed, as one stream (not checked: a segment written from them is).</summary>
    public static Stream OpenRecords(string path) =>
        Zstd.OpenRead(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan));

    /// <summary>Compresses records (<paramref name="input"/> to its end) into segment bytes, as a sealed segment holds them.</summary>
    public static void Compress(Stream input, Stream output, CancellationToken cancellationToken)
    {
        var block = new byte[Zstd.BlockSize];
        int read;
        while ((read = input.ReadAtLeast(block, block.Length, throwOnEndOfStream: false)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var compressed = Zstd.CompressBlock(block.AsSpan(0, read), out var length);
            output.Write(compressed, 0, length);
        }
    }

    /// <summary>The records of the segment at <paramref name="path"/> (<paramref name="shown"/> names it in errors), each checked.</summary>
    public static IEnumerable<StreamRecord> Records(string path, int pageSize, string? shown = null) => Read(OpenRecords(path), path, pageSize, shown);

    /// <summary>
    /// As <see cref="Records"/>, with the file opened now (so a merge that deletes it later cannot take it away from the
    /// reader); null when it is gone already.
    /// </summary>
    public static IEnumerable<StreamRecord>? TryRecords(string path, int pageSize)
    {
        try
        {
            return Read(OpenRecords(path), path, pageSize, null);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static IEnumerable<StreamRecord> Read(Stream opened, string path, int pageSize, string? shown)
    {
        using var input = opened;
        while (true)
        {
            StreamRecord? record;
            try
            {
                record = StreamRecord.Read(input, pageSize);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
            {
                throw new CellarException($"segment {shown ?? path} is damaged ({e.Message})", e);
            }

            if (record is null)
            {
                yield break;
            }

            yield return record;
        }
    }
}

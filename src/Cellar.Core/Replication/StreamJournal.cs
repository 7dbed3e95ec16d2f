using Cellar.Core.Compression;
using Cellar.Core.IO;
using Cellar.Core.Wal;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Replication;

/// <summary>
/// The generation's journal: transactions shipped but not yet sealed into a segment, appended and fsynced batch by
/// batch, so a transaction is durable within milliseconds of Cellar seeing it commit. A crash mid-append leaves a last
/// record cut short or failing its checksum: it was never acknowledged, and opening the journal cuts it off (the
/// follower reads it again from the WAL). A bad record before the last one is damage, and is reported, never skipped.
/// </summary>
internal sealed class StreamJournal : IDisposable
{
    private readonly FileStream _file;
    private readonly int _pageSize;
    private readonly PageDelta _delta = new();

    /// <summary>The most pages a batch stores as changes: at 500 commits a second a batch holds about a hundred.</summary>
    internal const int ChangesUpTo = 512;

    private StreamJournal(FileStream file, int pageSize, IReadOnlyList<StreamRecord> records)
    {
        _file = file;
        _pageSize = pageSize;
        Records = [.. records];
    }

    /// <summary>The records in the journal, oldest first, without their pages.</summary>
    public List<StreamRecord> Records { get; }

    /// <summary>The journal's size in bytes.</summary>
    public long Length => _file.Length;

    /// <summary>Opens (creating, owner-only) the journal at <paramref name="path"/>, cutting off a torn last record.</summary>
    public static StreamJournal Open(string path, int pageSize)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 1 << 16 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = SecureFiles.FileMode;
        }

        var file = new FileStream(path, options);
        try
        {
            var (records, valid) = ReadValid(file, pageSize, path);
            if (valid < file.Length)
            {
                file.SetLength(valid);
                Fsync.File(file);
            }

            file.Position = valid;
            return new StreamJournal(file, pageSize, records);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends the records of <paramref name="transactions"/>, numbered from <paramref name="firstTxid"/>, each page
    /// stored as its change from what <paramref name="history"/> says it was before, where it knows; fsyncs them.
    /// A batch of more than <see cref="ChangesUpTo"/> pages is stored whole: the follower is behind a writer going
    /// flat out (or a bulk rewrite such as a VACUUM, where changes save little), and keeping up comes first.
    /// </summary>
    public IReadOnlyList<StreamRecord> Append(long firstTxid, DateTimeOffset committed, IReadOnlyList<WalTransaction> transactions, SafeFileHandle wal, WalHeader header, PageHistory history)
    {
        var start = _file.Position;
        var added = new List<StreamRecord>(transactions.Count);
        Func<uint, Span<byte>, bool> before = transactions.Sum(t => t.Pages.Count) <= ChangesUpTo ? history.TryRead : static (_, _) => false;
        try
        {
            var txid = firstTxid;
            foreach (var transaction in transactions)
            {
                StreamRecord.Write(_file, txid, committed, transaction, _pageSize, (frame, page) => WalReader.ReadPage(wal, header, frame, page), before, _delta);
                history.Shipped(transaction);
                added.Add(new StreamRecord(txid, committed, transaction.DatabasePages, transaction.End, []));
                txid++;
            }

            Fsync.File(_file);
        }
        catch
        {
            // Not durable, so not shipped: the journal goes back to where it was, and the follower reads them again,
            // storing their pages whole (the history already counts them as shipped).
            history.Distrust();
            _file.SetLength(start);
            _file.Position = start;
            throw;
        }

        Records.AddRange(added);
        return added;
    }

    /// <summary>Empties the journal once its records are sealed in a segment.</summary>
    public void Clear()
    {
        _file.SetLength(0);
        _file.Position = 0;
        Fsync.File(_file);
        Records.Clear();
    }

    /// <summary>The journal's path.</summary>
    public string Path => _file.Name;

    public void Dispose()
    {
        _file.Dispose();
        _delta.Dispose();
    }

    /// <summary>
    /// The records of the journal at <paramref name="path"/>, pages included, up to the last whole one: what a restore
    /// reads while the follower may be appending.
    /// </summary>
    public static IEnumerable<StreamRecord> Read(string path, int pageSize) => ReadFrom(path, pageSize, 0).Select(r => r.Record);

    /// <summary>The transaction of the first record of the journal at <paramref name="path"/> (null: none): a seal empties the journal, so a new first record tells a reader that offsets it kept are stale.</summary>
    public static long? FirstTxid(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            var header = new byte[StreamRecord.HeaderSize];
            return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length ? StreamRecord.TxidOf(header) : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// The records of the journal at <paramref name="path"/> from byte <paramref name="offset"/> (where a record began
    /// when the reader found it), up to the last whole one, each with the offset just after it.
    /// </summary>
    public static IEnumerable<(StreamRecord Record, long End)> ReadFrom(string path, int pageSize, long offset)
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        file.Position = offset;
        foreach (var item in Scan(file, pageSize, path))
        {
            yield return item;
        }
    }

    private static (List<StreamRecord> Records, long Valid) ReadValid(FileStream file, int pageSize, string path)
    {
        var records = new List<StreamRecord>();
        long valid = 0;
        foreach (var (record, end) in Scan(file, pageSize, path))
        {
            records.Add(record with { Pages = [] });
            valid = end;
        }

        return (records, valid);
    }

    private static IEnumerable<(StreamRecord Record, long End)> Scan(FileStream file, int pageSize, string path)
    {
        var length = file.Length;
        var valid = file.Position;
        while (true)
        {
            StreamRecord? record;
            try
            {
                record = StreamRecord.Read(file, pageSize);
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
            {
                if (file.Position < length)
                {
                    throw new CellarException($"journal {path} is damaged after byte {valid} ({e.Message})");
                }

                yield break; // the torn tail of an append a crash interrupted
            }

            if (record is null)
            {
                yield break;
            }

            valid = file.Position;
            yield return (record, valid);
        }
    }
}

using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using Cellar.Core.Compression;
using Cellar.Core.Wal;

namespace Cellar.Core.Replication;

/// <summary>
/// One shipped transaction as Cellar stores it (docs/stream-format.md): its number in the generation, when Cellar saw
/// it committed, the database's size after it, the WAL position it ended at (so a restarted follower knows where to
/// go on), and the pages it changed, each whole or as its change from the page before the transaction
/// (<see cref="PageDelta"/>, with a check of the page it must make); the whole closed by its SHA-256, so a flipped bit
/// anywhere is found before any page of it is applied. Little-endian throughout.
/// </summary>
internal sealed record StreamRecord(long Txid, DateTimeOffset Committed, uint DatabasePages, WalPosition End, IReadOnlyList<RecordPage> Pages, int Format = StreamRecord.Current)
{
    /// <summary>The format written now: pages whole or as changes ("CSR2").</summary>
    public const int Current = 2;

    /// <summary>Bytes before the first page.</summary>
    public const int HeaderSize = 72;

    /// <summary>The first four bytes of a record of the first format, every page whole: "CSR1".</summary>
    private const uint MagicWhole = 0x31525343;

    /// <summary>The first four bytes of a record of the current format: "CSR2".</summary>
    private const uint MagicChanges = 0x32525343;

    /// <summary>Before each page's bytes in the current format: number, form, check, length.</summary>
    private const int EntryHeader = 20;

    private const int HashSize = 32;

    /// <summary>The check a page's change carries: the page it must make, hashed (XXH3, 64 bits).</summary>
    public static ulong Check(ReadOnlySpan<byte> page) => XxHash3.HashToUInt64(page);

    /// <summary>
    /// Writes the record of transaction <paramref name="txid"/>, committed as <paramref name="transaction"/> says, its pages
    /// read from the WAL by <paramref name="readPage"/> (frame, buffer). Where <paramref name="readBefore"/> (page,
    /// buffer) gives the page as it was before the transaction, the page is stored as its change from that, when that
    /// is smaller.
    /// </summary>
    public static void Write(Stream output, long txid, DateTimeOffset committed, WalTransaction transaction, int pageSize, Action<long, Span<byte>> readPage, Func<uint, Span<byte>, bool> readBefore, PageDelta delta)
    {
        var before = new byte[pageSize];
        var change = new byte[PageDelta.Bound(pageSize)];
        var pages = new List<RecordPage>(transaction.Pages.Count);
        foreach (var (number, frame) in transaction.Pages)
        {
            var page = new byte[pageSize];
            readPage(frame, page);
            var length = readBefore(number, before) ? delta.Encode(page, before, change) : pageSize;
            pages.Add(length < pageSize ? new RecordPage(number, change.AsSpan(0, length).ToArray(), Check(page)) : new RecordPage(number, page, null));
        }

        new StreamRecord(txid, committed, transaction.DatabasePages, transaction.End, pages).WriteTo(output, pageSize);
    }

    /// <summary>Writes this record, byte for byte as it was first written (to carry it into another file).</summary>
    public void WriteTo(Stream output, int pageSize)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Format == Current ? MagicChanges : MagicWhole);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), HeaderSize + Pages.Sum(p => (long)EntrySize(p.Data.Length)) + HashSize);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), Txid);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), Committed.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(32), DatabasePages);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(36), (uint)Pages.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), End.Salt1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), End.Salt2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(48), End.CheckpointSequence);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(56), End.Frame);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(64), End.S0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(68), End.S1);
        output.Write(header);
        hash.AppendData(header);
        var entry = new byte[EntryHeader];
        foreach (var page in Pages)
        {
            if (Format != Current && (page.Check is not null || page.Data.Length != pageSize))
            {
                throw new InvalidOperationException("a record of the first format holds whole pages only");
            }

            BinaryPrimitives.WriteUInt32LittleEndian(entry, page.Number);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), page.Check is null ? 0u : 1u);
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8), page.Check ?? 0);
            BinaryPrimitives.WriteInt32LittleEndian(entry.AsSpan(16), page.Data.Length);
            var head = entry.AsSpan(0, Format == Current ? EntryHeader : 4);
            output.Write(head);
            hash.AppendData(head);
            output.Write(page.Data.Span);
            hash.AppendData(page.Data.Span);
        }

        output.Write(hash.GetHashAndReset());
    }

    /// <summary>The transaction a record's header (its first <see cref="HeaderSize"/> bytes) names, or null when it is no record's header.</summary>
    public static long? TxidOf(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderSize && FormatOf(BinaryPrimitives.ReadUInt32LittleEndian(header)) is not null ? BinaryPrimitives.ReadInt64LittleEndian(header[16..]) : null;

    /// <summary>
    /// The next record of <paramref name="input"/>; null at its clean end. A record cut short throws
    /// <see cref="EndOfStreamException"/>, one that fails its checksum or is not a record <see cref="InvalidDataException"/>.
    /// </summary>
    public static StreamRecord? Read(Stream input, int pageSize)
    {
        var header = new byte[HeaderSize];
        var got = input.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        if (got == 0)
        {
            return null;
        }

        if (got < HeaderSize)
        {
            throw new EndOfStreamException("a record is cut short in its header");
        }

        var format = FormatOf(BinaryPrimitives.ReadUInt32LittleEndian(header)) ?? throw new InvalidDataException("not a transaction record (bad magic)");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(52)) != 0)
        {
            // Reserved: a record is carried on as read, so nothing it holds may be dropped on the way.
            throw new InvalidDataException("a record's reserved bytes are not zero");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(36));
        var size = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        var least = HeaderSize + ((long)count * (format == Current ? EntryHeader : 4 + pageSize)) + HashSize;
        var most = HeaderSize + ((long)count * (format == Current ? EntryHeader + pageSize : 4 + pageSize)) + HashSize;
        if (size < least || size > most || size > int.MaxValue)
        {
            throw new InvalidDataException("a record's size does not match its page count");
        }

        var body = new byte[size - HeaderSize];
        if (input.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            throw new EndOfStreamException("a record is cut short");
        }

        var txid = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(body.AsSpan(0, body.Length - HashSize));
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(body.AsSpan(body.Length - HashSize)))
        {
            throw new InvalidDataException($"transaction {txid} fails its checksum");
        }

        var pages = new List<RecordPage>((int)count);
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            pages.Add(format == Current ? ReadEntry(body, ref at, pageSize, txid) : ReadWholeEntry(body, ref at, pageSize, txid));
        }

        if (at != body.Length - HashSize)
        {
            throw new InvalidDataException($"transaction {txid}: its pages do not fill the record");
        }

        var end = new WalPosition(
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(40)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(44)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(48)),
            BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(56)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(64)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(68)));
        return new StreamRecord(
            txid,
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24))),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(32)),
            end,
            pages,
            format);
    }

    private static RecordPage ReadWholeEntry(byte[] body, ref int at, int pageSize, long txid)
    {
        var number = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(at));
        if (number == 0)
        {
            throw new InvalidDataException($"transaction {txid} holds a page numbered 0");
        }

        var page = new RecordPage(number, body.AsMemory(at + 4, pageSize), null);
        at += 4 + pageSize;
        return page;
    }

    private static RecordPage ReadEntry(byte[] body, ref int at, int pageSize, long txid)
    {
        var entry = body.AsSpan(at);
        if (entry.Length < EntryHeader + HashSize)
        {
            throw new InvalidDataException($"transaction {txid}: a page runs past the record's end");
        }

        var number = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        var form = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
        var length = BinaryPrimitives.ReadInt32LittleEndian(entry[16..]);
        var check = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
        if (number == 0 || form > 1 || (form == 0 ? length != pageSize || check != 0 : length <= 0 || length >= pageSize) || length > entry.Length - EntryHeader - HashSize)
        {
            throw new InvalidDataException($"transaction {txid} stores page {number} in a form ({form}, {length} bytes) this version does not know");
        }

        var page = new RecordPage(number, body.AsMemory(at + EntryHeader, length), form == 1 ? check : null);
        at += EntryHeader + length;
        return page;
    }

    private static int? FormatOf(uint magic) => magic switch
    {
        MagicChanges => Current,
        MagicWhole => 1,
        _ => null,
    };

    private int EntrySize(int length) => (Format == Current ? EntryHeader : 4) + length;
}

using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Cellar.Core.Replication;

/// <summary>
/// One shipped transaction as Cellar stores it (docs/stream-format.md): its number in the generation, when Cellar saw
/// it committed, the database's size after it, the WAL position it ended at (so a restarted follower knows where to
/// go on), and the pages it changed, each whole or as its difference from the page before the transaction (with a
/// check of the page it must make); the whole closed by its SHA-256, so a flipped bit anywhere is found before any
/// page of it is applied. Little-endian throughout.
/// </summary>
internal sealed record StreamRecord(long Txid, DateTimeOffset Committed, uint DatabasePages, WalPosition End, IReadOnlyList<RecordPage> Pages, int Format = StreamRecord.Current)
{
    /// <summary>The format written now: pages whole or as differences ("CSR2").</summary>
    public const int Current = 2;

    /// <summary>Bytes before the first page.</summary>
    public const int HeaderSize = 72;

    /// <summary>The first four bytes of a record of the first format, every page whole: "CSR1".</summary>
    private const uint MagicWhole = 0x31525343;

    /// <summary>The first four bytes of a record of the current format: "CSR2".</summary>
    private const uint MagicDifferences = 0x32525343;

    private const int HashSize = 32;

    /// <summary>The size of a record of <paramref name="pages"/> pages of <paramref name="pageSize"/> bytes.</summary>
    public static long SizeOf(int pages, int pageSize, int format = Current) => HeaderSize + ((long)pages * EntrySize(format, pageSize)) + HashSize;

    /// <summary>The check a page's difference carries: the page it must make, hashed (XXH3, 64 bits).</summary>
    public static ulong Check(ReadOnlySpan<byte> page) => XxHash3.HashToUInt64(page);

    /// <summary>
    /// Writes the record of transaction <paramref name="txid"/>, committed as <paramref name="transaction"/> says, its pages
    /// read from the WAL by <paramref name="readPage"/> (frame, buffer). Where <paramref name="readBefore"/> (page,
    /// buffer) gives the page as it was before the transaction, the page is stored as its difference from that.
    /// </summary>
    public static void Write(Stream output, long txid, DateTimeOffset committed, WalTransaction transaction, int pageSize, Action<long, Span<byte>> readPage, Func<uint, Span<byte>, bool> readBefore)
    {
        var before = new byte[pageSize];
        Emit(output, Current, txid, committed, transaction.DatabasePages, transaction.End, transaction.Pages.Count, pageSize, (i, entry) =>
        {
            var (number, frame) = transaction.Pages[i];
            var page = entry[16..];
            readPage(frame, page);
            var difference = readBefore(number, before);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, number);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], difference ? 1u : 0u);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], difference ? Check(page) : 0);
            if (difference)
            {
                PageXor.Apply(page, before);
            }
        });
    }

    /// <summary>Writes this record again, byte for byte as it was first written (to carry it into another file).</summary>
    public void WriteTo(Stream output, int pageSize) =>
        Emit(output, Format, Txid, Committed, DatabasePages, End, Pages.Count, pageSize, (i, entry) =>
        {
            var page = Pages[i];
            BinaryPrimitives.WriteUInt32LittleEndian(entry, page.Number);
            if (Format == Current)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], page.Check is null ? 0u : 1u);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], page.Check ?? 0);
            }

            page.Data.Span.CopyTo(entry[(EntrySize(Format, pageSize) - pageSize)..]);
        });

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
        var entrySize = EntrySize(format, pageSize);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(36));
        var size = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        if (count > int.MaxValue / entrySize || size != SizeOf((int)count, pageSize, format))
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
        for (var i = 0; i < count; i++)
        {
            var entry = body.AsMemory(i * entrySize, entrySize);
            var number = BinaryPrimitives.ReadUInt32LittleEndian(entry.Span);
            ulong? check = null;
            if (format == Current)
            {
                check = BinaryPrimitives.ReadUInt32LittleEndian(entry.Span[4..]) switch
                {
                    0 => null,
                    1 => BinaryPrimitives.ReadUInt64LittleEndian(entry.Span[8..]),
                    var form => throw new InvalidDataException($"transaction {txid} stores page {number} in a form ({form}) this version does not know"),
                };
            }

            pages.Add(new RecordPage(number, entry[(entrySize - pageSize)..], check));
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

    private static int? FormatOf(uint magic) => magic switch
    {
        MagicDifferences => Current,
        MagicWhole => 1,
        _ => null,
    };

    /// <summary>One page's bytes in a record: its number, then (from format 2) its form and check, then the page.</summary>
    private static int EntrySize(int format, int pageSize) => (format == Current ? 16 : 4) + pageSize;

    private static void Emit(Stream output, int format, long txid, DateTimeOffset committed, uint databasePages, WalPosition end, int count, int pageSize, Action<int, Span<byte>> fillEntry)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, format == Current ? MagicDifferences : MagicWhole);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), SizeOf(count, pageSize, format));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), txid);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), committed.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(32), databasePages);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(36), (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), end.Salt1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), end.Salt2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(48), end.CheckpointSequence);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(56), end.Frame);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(64), end.S0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(68), end.S1);
        output.Write(header);
        hash.AppendData(header);
        var entry = new byte[EntrySize(format, pageSize)];
        for (var i = 0; i < count; i++)
        {
            entry.AsSpan().Clear();
            fillEntry(i, entry);
            output.Write(entry);
            hash.AppendData(entry);
        }

        output.Write(hash.GetHashAndReset());
    }
}

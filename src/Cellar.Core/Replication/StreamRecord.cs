using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cellar.Core.Replication;

/// <summary>
/// One shipped transaction as Cellar stores it (docs/stream-format.md): its number in the generation, when Cellar saw
/// it committed, the database's size after it, the WAL position it ended at (so a restarted follower knows where to
/// go on), and the pages it changed; the whole closed by its SHA-256, so a flipped bit anywhere is found before any
/// page of it is applied. Little-endian throughout.
/// </summary>
internal sealed record StreamRecord(long Txid, DateTimeOffset Committed, uint DatabasePages, WalPosition End, IReadOnlyList<(uint Page, ReadOnlyMemory<byte> Data)> Pages)
{
    /// <summary>The first four bytes of every record: "CSR1".</summary>
    public const uint Magic = 0x31525343;

    /// <summary>Bytes before the first page.</summary>
    public const int HeaderSize = 72;

    private const int HashSize = 32;

    /// <summary>The size of a record of <paramref name="pages"/> pages of <paramref name="pageSize"/> bytes.</summary>
    public static long SizeOf(int pages, int pageSize) => HeaderSize + ((long)pages * (4 + pageSize)) + HashSize;

    /// <summary>
    /// Writes the record of transaction <paramref name="txid"/>, committed as <paramref name="transaction"/> says, its pages
    /// read from the WAL by <paramref name="readPage"/> (frame, buffer).
    /// </summary>
    public static void Write(Stream output, long txid, DateTimeOffset committed, WalTransaction transaction, int pageSize, Action<long, Span<byte>> readPage)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), SizeOf(transaction.Pages.Count, pageSize));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), txid);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), committed.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(32), transaction.DatabasePages);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(36), (uint)transaction.Pages.Count);
        var end = transaction.End;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), end.Salt1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), end.Salt2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(48), end.CheckpointSequence);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(56), end.Frame);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(64), end.S0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(68), end.S1);
        output.Write(header);
        hash.AppendData(header);
        var entry = new byte[4 + pageSize];
        foreach (var (page, frame) in transaction.Pages)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(entry, page);
            readPage(frame, entry.AsSpan(4));
            output.Write(entry);
            hash.AppendData(entry);
        }

        output.Write(hash.GetHashAndReset());
    }

    /// <summary>Writes this record again, byte for byte as it was first written (to carry it into another file).</summary>
    public void WriteTo(Stream output, int pageSize)
    {
        var pages = Enumerable.Range(0, Pages.Count).Select(i => (Pages[i].Page, (long)i)).ToList();
        Write(output, Txid, Committed, new WalTransaction(pages, DatabasePages, End), pageSize, (i, buffer) => Pages[(int)i].Data.Span.CopyTo(buffer));
    }

    /// <summary>The transaction a record's header (its first <see cref="HeaderSize"/> bytes) names, or null when it is no record's header.</summary>
    public static long? TxidOf(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderSize && BinaryPrimitives.ReadUInt32LittleEndian(header) == Magic ? BinaryPrimitives.ReadInt64LittleEndian(header[16..]) : null;

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

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException("not a transaction record (bad magic)");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(36));
        var size = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        if (count > int.MaxValue / (4 + pageSize) || size != SizeOf((int)count, pageSize))
        {
            throw new InvalidDataException("a record's size does not match its page count");
        }

        var body = new byte[size - HeaderSize];
        if (input.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            throw new EndOfStreamException("a record is cut short");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(body.AsSpan(0, body.Length - HashSize));
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(body.AsSpan(body.Length - HashSize)))
        {
            throw new InvalidDataException($"transaction {BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16))} fails its checksum");
        }

        var pages = new List<(uint, ReadOnlyMemory<byte>)>((int)count);
        for (var i = 0; i < count; i++)
        {
            var at = i * (4 + pageSize);
            pages.Add((BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(at)), body.AsMemory(at + 4, pageSize)));
        }

        var end = new WalPosition(
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(40)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(44)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(48)),
            BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(56)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(64)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(68)));
        return new StreamRecord(
            BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16)),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24))),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(32)),
            end,
            pages);
    }
}

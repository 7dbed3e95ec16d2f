using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cellar.Core.Replication;

/// <summary>
/// A base image stored as only the pages that differ from the base before it in its generation (its parent): a day of
/// history then costs what the day changed, not another copy of the database. The bytes, before compression
/// (docs/stream-format.md): a header (magic, the base's and its parent's transaction, page size, the image's page
/// count), each page that differs from the parent's image or lies beyond its end (number, length, bytes: its change
/// from the parent's page where that is smaller, <see cref="Compression.PageDelta"/>, so a page a title changed in
/// stores as a few dozen bytes; else the page) in ascending order, a page number 0 as the end, then a trailer (how many pages, the whole image's SHA-256, and the SHA-256 of every byte
/// before it). A chain of them over a full base rebuilds the image, which must hash to what the newest one records.
/// </summary>
internal static class PageSet
{
    /// <summary>"CSP2", little-endian: each page with its length, and stored as its change from the parent's where that is smaller (<see cref="Compression.PageDelta"/>).</summary>
    public const uint Magic = 0x32505343;

    /// <summary>"CSP1", the first format, still read: every page stored as it is.</summary>
    public const uint MagicWhole = 0x31505343;

    /// <summary>The header's size in bytes.</summary>
    public const int HeaderSize = 32;

    /// <summary>The trailer's size in bytes: count, reserved, image SHA-256, content SHA-256.</summary>
    public const int TrailerSize = 8 + 32 + 32;

    /// <summary>The most a page set of an image of <paramref name="pages"/> pages can hold, in bytes (every page changed).</summary>
    public static long MaxSize(long pages, int pageSize) => HeaderSize + (pages * (8 + pageSize)) + 4 + TrailerSize;

    /// <summary>The header of the page set of the base after <paramref name="txid"/>, over the base after <paramref name="parent"/>.</summary>
    public static byte[] Header(long txid, long parent, int pageSize, long pages)
    {
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), txid);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), parent);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(24), pageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), checked((uint)pages));
        return header;
    }

    /// <summary>The end mark and trailer, given the count, the image's hash and the hash of the bytes before the trailer (end mark included).</summary>
    public static byte[] Trailer(int count, byte[] imageHash, IncrementalHash content)
    {
        var trailer = new byte[4 + TrailerSize];
        BinaryPrimitives.WriteInt32LittleEndian(trailer.AsSpan(4), count);
        imageHash.CopyTo(trailer, 12);
        content.AppendData(trailer.AsSpan(0, 44));
        content.GetHashAndReset().CopyTo(trailer, 44);
        return trailer;
    }

    /// <summary>
    /// Reads a page set's expanded bytes from <paramref name="input"/> one page at a time, checking as it goes what can
    /// be checked so far, and the trailer at the end (<paramref name="shown"/> names it in errors).
    /// </summary>
    internal sealed class Reader(Stream input, string shown) : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private byte[] _page = [];
        private int _length;
        private int _count;

        /// <summary>The base's transaction.</summary>
        public long Txid { get; private set; }

        /// <summary>The parent's transaction.</summary>
        public long Parent { get; private set; }

        /// <summary>The page size.</summary>
        public int PageSize { get; private set; }

        /// <summary>The image's page count.</summary>
        public long Pages { get; private set; }

        /// <summary>Whether pages may be stored as changes from the parent's (CSP2), or are all whole (CSP1).</summary>
        public bool Changes { get; private set; }

        /// <summary>Whether the current page's bytes are its change from the parent's page, not the page.</summary>
        public bool IsChange => _length < PageSize;

        /// <summary>The page the reader stands on (0: none left).</summary>
        public uint Current { get; private set; }

        /// <summary>Its bytes: the page, or its change (<see cref="IsChange"/>).</summary>
        public ReadOnlySpan<byte> Data => _page.AsSpan(0, _length);

        /// <summary>The image's SHA-256, as the trailer records it; known once every page was read.</summary>
        public byte[]? ImageHash { get; private set; }

        /// <summary>Reads the header and the first page.</summary>
        public void Start()
        {
            var header = ReadExactly(HeaderSize);
            Changes = BinaryPrimitives.ReadUInt32LittleEndian(header) switch
            {
                Magic => true,
                MagicWhole => false,
                _ => throw Damaged("not a page set (no CSP2 or CSP1 header)"),
            };

            (Txid, Parent, PageSize, Pages) = (BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8)), BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16)),
                BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(24)), BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(28)));
            if (PageSize is < 512 or > 65536 || (PageSize & (PageSize - 1)) != 0)
            {
                throw Damaged($"a page size of {PageSize}");
            }

            _page = new byte[PageSize];
            Next();
        }

        /// <summary>Moves to the next page; after the last, reads and checks the trailer.</summary>
        public void Next()
        {
            var number = BinaryPrimitives.ReadUInt32LittleEndian(ReadExactly(4));
            if (number == 0)
            {
                Finish();
                Current = 0;
                return;
            }

            if (number <= Current || number > Pages)
            {
                throw Damaged($"page {number} out of order or beyond the image's {Pages} pages");
            }

            _length = Changes ? BinaryPrimitives.ReadInt32LittleEndian(ReadExactly(4)) : PageSize;
            if (_length <= 0 || _length > PageSize)
            {
                throw Damaged($"page {number} stored in {_length} bytes");
            }

            Fill(_page.AsSpan(0, _length));
            (Current, _count) = (number, _count + 1);
        }

        private void Finish()
        {
            var trailer = new byte[TrailerSize];
            Fill(trailer, hash: false);
            _hash.AppendData(trailer.AsSpan(0, 40));
            if (!_hash.GetHashAndReset().AsSpan().SequenceEqual(trailer.AsSpan(40)))
            {
                throw Damaged("its checksum does not match its bytes");
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(trailer) != _count)
            {
                throw Damaged($"it holds {_count} pages where its trailer says {BinaryPrimitives.ReadInt32LittleEndian(trailer)}");
            }

            ImageHash = trailer[8..40];
            var after = new byte[1];
            int extra;
            try
            {
                extra = input.Read(after);
            }
            catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
            {
                throw Damaged($"it does not decompress ({e.Message})");
            }

            if (extra != 0)
            {
                throw Damaged("bytes after its trailer");
            }
        }

        private byte[] ReadExactly(int count)
        {
            var bytes = new byte[count];
            Fill(bytes);
            return bytes;
        }

        private void Fill(Span<byte> bytes, bool hash = true)
        {
            try
            {
                input.ReadExactly(bytes);
            }
            catch (EndOfStreamException)
            {
                throw Damaged("it ends short");
            }
            catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
            {
                throw Damaged($"it does not decompress ({e.Message})");
            }

            if (hash)
            {
                _hash.AppendData(bytes);
            }
        }

        public void Dispose() => _hash.Dispose();

        private CellarException Damaged(string why) => new($"page set {shown} is damaged: {why}");
    }
}

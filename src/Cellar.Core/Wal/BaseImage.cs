using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Wal;

/// <summary>
/// The database exactly as a read transaction sees it, page for page: the database file with the newest frame of
/// each page the WAL holds up to the image's position laid over it (a stream's base, or a snapshot read in place). The
/// read transaction keeps it stable while it is read: no checkpoint can copy a frame past the reader's mark into the
/// file, nor restart the WAL.
/// Unlike SQLite's backup API, which rewrites the header of the copy, this is the app's very bytes, so a restore can
/// be compared page for page with the live database.
/// </summary>
internal sealed class BaseImage(string database, UnixFiles.FileId? file, SafeFileHandle wal, WalHeader? header, IReadOnlyDictionary<uint, long> overlay, int pageSize, long pages, DateTimeOffset taken)
{
    private const int PagesPerRead = 256;

    /// <summary>The WAL whose frames are laid over the file (null: none).</summary>
    public WalHeader? Header => header;

    /// <summary>The WAL frame holding each page's newest version up to the image's position (none: the file's page).</summary>
    public IReadOnlyDictionary<uint, long> Overlay => overlay;

    /// <summary>The database's page size.</summary>
    public int PageSize => pageSize;

    /// <summary>The image's page count.</summary>
    public long Pages => pages;

    /// <summary>When the image was pinned.</summary>
    public DateTimeOffset Taken => taken;

    /// <summary>
    /// Pins what <paramref name="live"/>'s read transaction sees, the database's shape and the WAL frame holding the
    /// newest version of each page, up to <paramref name="upTo"/> (null: every transaction the WAL holds, with writers
    /// held so that is where the read transaction stands). Returns where the image ends in the WAL, and the image.
    /// </summary>
    public static (WalPosition End, BaseImage Image) Pin(LiveDatabase live, WalPosition? upTo, DateTimeOffset now)
    {
        var header = WalReader.Header(live.Wal) is { } h && (upTo is not { } limit || limit.IsIn(h)) ? h : (WalHeader?)null;

        // With writers held, the wal-index's end is where the read transaction stands; frames past it are a dead
        // writer's, never committed.
        var lastFrame = header is { } current ? upTo?.Frame ?? live.CommittedEnd(current) : 0;
        var (end, image) = Through(live, header, lastFrame, now);
        return (upTo ?? end, image);
    }

    /// <summary>
    /// Pins what <paramref name="live"/>'s read transaction sees when it stands at frame <paramref name="lastFrame"/> of
    /// the WAL <paramref name="header"/> begins (0 or no header: it reads the database file alone). The caller learnt
    /// that frame with writers held as the transaction began, and the transaction keeps every frame up to it in place.
    /// </summary>
    public static (WalPosition End, BaseImage Image) Through(LiveDatabase live, WalHeader? header, long lastFrame, DateTimeOffset now)
    {
        var (pageSize, pages) = live.Shape();
        var overlay = new Dictionary<uint, long>();
        var end = default(WalPosition);
        if (header is { } current)
        {
            var scan = WalReader.Scan(live.Wal, current, WalPosition.Start(current), lastFrame);
            foreach (var transaction in scan.Committed)
            {
                foreach (var (page, frame) in transaction.Pages)
                {
                    overlay[page] = frame;
                }
            }

            end = scan.End;
        }

        return (end, new BaseImage(live.Path, live.Id, live.Wal, header, overlay, pageSize, pages, now));
    }

    /// <summary>Writes the image to the new file <paramref name="copyPath"/> (owner-only) and fsyncs it.</summary>
    public Task CopyAsync(string copyPath, CancellationToken cancellationToken) => OwnThread.Run(() =>
    {
        using var output = SecureFiles.CreateNew(copyPath);
        WriteTo(output, cancellationToken);
        Fsync.File(output);
        RequireOverlayUnchanged();
    }, cancellationToken);

    /// <summary>The image's SHA-256, as lowercase hex.</summary>
    public string Hash(CancellationToken cancellationToken)
    {
        using var hash = new HashingStream(Stream.Null);
        WriteTo(hash, cancellationToken);
        RequireOverlayUnchanged();
        return hash.HexHash();
    }

    /// <summary>
    /// Hands the image to <paramref name="block"/> in order, a run of whole pages at a time with the number of its
    /// first, then makes sure the WAL frames laid over it were the right ones throughout.
    /// </summary>
    public void Read(Action<long, ReadOnlyMemory<byte>> block, CancellationToken cancellationToken)
    {
        ReadBlocks(block, cancellationToken);
        RequireOverlayUnchanged();
    }

    /// <summary>
    /// The same image read from the database file alone, for when <see cref="OverlayLost"/> was thrown: the WAL could
    /// restart under the read transaction holding the image only because that reader needed none of it (SQLite gives a
    /// reader that begins on a WAL copied whole into the database its slot 0, which reads the file alone), and no
    /// checkpoint writes into the file while such a reader is open. So the file, as it is now, is the image.
    /// </summary>
    public BaseImage FileAlone() => new(database, file, wal, null, new Dictionary<uint, long>(), pageSize, pages, taken);

    /// <summary>
    /// Throws <see cref="OverlayLost"/> unless the WAL frames laid over the file were still the same WAL's when the copy
    /// was done. When the WAL had been copied into the database whole as the read transaction began, SQLite lets the
    /// WAL restart (or be truncated) under that reader, and the frames read could be another WAL's: their checksum
    /// chain, read again after the copy, says so (a new WAL's frames carry other salts, and the WAL only grows from
    /// frame 1 upward).
    /// </summary>
    private void RequireOverlayUnchanged()
    {
        if (header is not { } h || overlay.Count == 0)
        {
            return;
        }

        var last = overlay.Values.Max();
        if (WalReader.Header(wal) != h || WalReader.Scan(wal, h, WalPosition.Start(h), last).End.Frame < last)
        {
            throw new OverlayLost();
        }
    }

    private void WriteTo(Stream output, CancellationToken cancellationToken) => ReadBlocks((_, chunk) => output.Write(chunk.Span), cancellationToken);

    private void ReadBlocks(Action<long, ReadOnlyMemory<byte>> block, CancellationToken cancellationToken)
    {
        var source = HeldOpen.Read(database); // never closed: that would drop the SQLite locks of this process on it
        if (file is not null && UnixFiles.FStat(source)?.Id != file)
        {
            throw new CellarException($"database {database} was replaced while its base was copied");
        }

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

            block(first, buffer.AsMemory(0, count * pageSize));
        }
    }
}

using Microsoft.Win32.SafeHandles;
using Cellar.Core.Wal;

namespace Cellar.Core.Replication;

/// <summary>
/// What each page held just before the transaction being shipped, so its record can store the page as its change from
/// that (<see cref="Compression.PageDelta"/>), which costs a few dozen bytes where a transaction changed a few bytes of a page:
/// the newest frame of the page among those shipped from the current WAL, else the database file's page. That is what
/// a reader at the last shipped transaction sees, and so what a restore has rebuilt when it reaches the record.
/// <para>
/// The file is a sound source only while no checkpoint can have copied into it a frame that was not yet shipped: true
/// while the follower holds a read transaction at or before what it shipped, since a WAL whose start it watched
/// (<see cref="Begin"/> with trust). After any moment without that (Cellar down, its own checkpoint's moment without a
/// reader, an append that failed) the history is not trusted until the next WAL begins under a watching reader, and
/// pages are stored whole. A restore still checks every page a change makes against the check it carries.
/// </para>
/// </summary>
internal sealed class PageHistory(SafeFileHandle database, SafeFileHandle wal)
{
    private readonly Dictionary<uint, long> _frames = [];
    private WalHeader? _header;
    private bool _trusted;

    /// <summary>The database's size in pages after the last shipped transaction (null: not known).</summary>
    public uint? DatabasePages { get; private set; }

    /// <summary>Whether pages are stored as changes now.</summary>
    public bool Trusted => _trusted && DatabasePages is not null;

    /// <summary>
    /// A WAL begins (or the follower begins with one): <paramref name="frames"/> are the newest frame of each page it
    /// holds up to the shipped position, <paramref name="pages"/> the database's size there (null: keep the last known).
    /// </summary>
    public void Begin(WalHeader? header, IReadOnlyDictionary<uint, long> frames, bool trusted, uint? pages = null)
    {
        _frames.Clear();
        foreach (var (page, frame) in frames)
        {
            _frames[page] = frame;
        }

        (_header, _trusted, DatabasePages) = (header, trusted, pages ?? DatabasePages);
    }

    /// <summary>From now until the next WAL, pages are stored whole.</summary>
    public void Distrust()
    {
        _trusted = false;
        _frames.Clear();
    }

    /// <summary>Notes <paramref name="transaction"/> as shipped: its frames are now the pages' versions before the next one.</summary>
    public void Shipped(WalTransaction transaction)
    {
        if (_trusted)
        {
            foreach (var (page, frame) in transaction.Pages)
            {
                _frames[page] = frame;
            }
        }

        DatabasePages = transaction.DatabasePages;
    }

    /// <summary>
    /// Reads page <paramref name="page"/> as it was after the last shipped transaction into <paramref name="into"/>;
    /// false when that is not known for certain (the page is then stored whole): not trusted, or a page past the
    /// database's end then (a page it grows by is new).
    /// </summary>
    public bool TryRead(uint page, Span<byte> into)
    {
        if (!Trusted || page > DatabasePages)
        {
            return false;
        }

        if (_frames.TryGetValue(page, out var frame))
        {
            WalReader.ReadPage(wal, _header!.Value, frame, into);
            return true;
        }

        return RandomAccess.Read(database, into, (long)(page - 1) * into.Length) == into.Length;
    }
}

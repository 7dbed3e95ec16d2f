using System.Diagnostics;
using Cellar.Core.Sqlite;
using Cellar.Core.Wal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Snapshots;

/// <summary>
/// A snapshot of a WAL-mode database read where it lies, with no copy: the database file with the newest WAL frame of
/// each page laid over it (<see cref="BaseImage"/>), as two read transactions begun together see it. Those transactions
/// keep the image still while it is compressed and inspected (no checkpoint copies a later frame into the file, and the
/// WAL cannot restart under them), and block no writer. A copy would write and read the whole database once more before
/// compression could start, and that serial step was the longest one left of a backup.
/// To learn which frames the read transactions see, the app's writers are held for the moment it takes to begin them
/// and read the wal-index (<see cref="LiveDatabase.TryWithWritersHeld{T}"/>); that moment is what the sidecar reports
/// as writers held off.
/// </summary>
internal sealed partial class InPlaceSnapshot : IDisposable
{
    /// <summary>
    /// How long the app's current write transaction may keep Cellar from that moment before the snapshot is copied
    /// instead (a copy in WAL mode waits for nobody).
    /// </summary>
    private static readonly TimeSpan WriterWait = TimeSpan.FromSeconds(1);

    private readonly LiveDatabase _live;
    private readonly LiveDatabase.BaseHold _second;

    private InPlaceSnapshot(LiveDatabase live, LiveDatabase.BaseHold second, BaseImage image, SnapshotInfo info)
    {
        _live = live;
        _second = second;
        Image = image;
        Info = info;
    }

    /// <summary>The image the read transactions see.</summary>
    public BaseImage Image { get; }

    /// <summary>What the snapshot holds, for the sidecar.</summary>
    public SnapshotInfo Info { get; }

    /// <summary>
    /// Pins the snapshot of <paramref name="path"/> where it lies; null when it must be copied instead: a database not in
    /// WAL mode (a read transaction there would hold the app's writers off for the whole backup), one Cellar may only
    /// read (it cannot take the writers' lock for its moment), or a write transaction of the app's lasting longer than
    /// <see cref="WriterWait"/>. <paramref name="notices"/> hears why, when it is not the journal mode.
    /// </summary>
    public static InPlaceSnapshot? TryTake(string path, TimeProvider time, ILogger? notices, CancellationToken cancellationToken)
    {
        SqliteFiles.RequireDatabase(path, "database");
        if (!LiveDatabase.InWalMode(path))
        {
            return null;
        }

        LiveDatabase live;
        try
        {
            live = LiveDatabase.Open(path, keepWal: false);
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            if (notices is not null)
            {
                LogCopying(notices, path, e.Message);
            }

            return null;
        }

        try
        {
            return Pin(live, time, notices, cancellationToken);
        }
        catch
        {
            live.Dispose();
            throw;
        }
    }

    private static InPlaceSnapshot? Pin(LiveDatabase live, TimeProvider time, ILogger? notices, CancellationToken cancellationToken)
    {
        var held = new Stopwatch();
        bool pinned;
        (LiveDatabase.BaseHold Second, WalHeader? Header, long LastFrame, DateTimeOffset Taken) moment;
        try
        {
            pinned = live.TryWithWritersHeld(WriterWait, () =>
            {
                held.Start();
                live.RefreshRead();
                var second = live.HoldForBase();
                var header = WalReader.Header(live.Wal);
                var lastFrame = header is { } h ? live.CommittedEnd(h) : 0;

                // Every frame already in the database file: the read transactions may read the file alone (SQLite's read
                // mark 0), and the app's next writer may then start the WAL over under them, overwriting frames. The file
                // is their image then, and no checkpoint writes into it while they are open.
                if (live.Backfilled() >= lastFrame)
                {
                    lastFrame = 0;
                }

                var result = (second, header, lastFrame, time.GetUtcNow());
                held.Stop();
                return result;
            }, out moment, cancellationToken);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM or SQLitePCL.raw.SQLITE_CANTOPEN)
        {
            if (notices is not null)
            {
                LogCopying(notices, live.Path, e.Message);
            }

            live.Dispose();
            return null;
        }

        if (!pinned)
        {
            if (notices is not null)
            {
                LogWriterBusy(notices, live.Path, WriterWait.TotalSeconds);
            }

            live.Dispose();
            return null;
        }

        try
        {
            var (_, image) = BaseImage.Through(live, moment.Header, moment.LastFrame, moment.Taken);
            return new InPlaceSnapshot(live, moment.Second, image, new SnapshotInfo(image.PageSize, image.Pages, "wal", held.Elapsed, moment.Taken));
        }
        catch
        {
            moment.Second.Dispose();
            throw;
        }
    }

    /// <summary>Inspects the snapshot on its two read transactions' connections (<see cref="Inspection.Of(SqliteConnection, SqliteConnection, bool, CancellationToken)"/>).</summary>
    public Inspection Inspect(bool quick, CancellationToken cancellationToken) => Inspection.Of(_live.Reading, _second.Connection, quick, cancellationToken);

    /// <summary>Ends both read transactions and closes every connection and handle.</summary>
    public void Dispose()
    {
        _second.Dispose();
        _live.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Database}: the snapshot is copied, since it cannot be read where it lies ({Reason})")]
    private static partial void LogCopying(ILogger logger, string database, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Database}: a write transaction of the app's lasted over {Seconds} s; the snapshot is copied instead of read where it lies")]
    private static partial void LogWriterBusy(ILogger logger, string database, double seconds);
}

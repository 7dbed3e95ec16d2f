using Cellar.Core.IO;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Wal;

/// <summary>
/// Cellar's hold on the app's WAL-mode database, for a stream's follower or a snapshot read in place: two reader connections taking turns, so a read transaction is open at
/// every moment, a third that holds a base's moment while it is copied, a connection for the checkpoints Cellar runs
/// itself and for the moments it must hold writers off, a handle on the <c>-wal</c> file its frames are read through,
/// and one on the <c>-shm</c> file that says how far they are committed.
/// A frame cannot be copied into the database (and so cannot be overwritten by a restart of the WAL, or cut by a
/// truncation) while a reader that began before it was committed is open; the follower begins the next reader, ships everything to the WAL's end, and only then ends the
/// previous one (<see cref="BeginNext"/>, <see cref="EndPrevious"/>), so every frame not yet shipped is always held.
/// Never changes the app's journal mode: a database not in WAL mode is refused.
/// </summary>
internal sealed class LiveDatabase : IDisposable
{
    private static readonly TimeSpan WriterWait = TimeSpan.FromSeconds(5);
    private readonly SqliteConnection[] _readers;
    private readonly bool[] _reading = new bool[2];
    private readonly SqliteConnection _writer;
    private readonly SqliteConnection _baseReader;
    private int _current;

    private LiveDatabase(string path, SqliteConnection[] readers, SqliteConnection writer, SqliteConnection baseReader, SafeFileHandle wal, SafeFileHandle shm, SafeFileHandle file, UnixFiles.FileId? id)
    {
        Path = path;
        Shm = shm;
        File = file;
        _readers = readers;
        _writer = writer;
        _baseReader = baseReader;
        Wal = wal;
        Id = id;
    }

    /// <summary>The database's path.</summary>
    public string Path { get; }

    /// <summary>The <c>-wal</c> file, opened read-only.</summary>
    public SafeFileHandle Wal { get; }

    /// <summary>The <c>-shm</c> file (the wal-index), opened read-only.</summary>
    public SafeFileHandle Shm { get; }

    /// <summary>The database file itself, opened read-only (the very file <see cref="Id"/> names).</summary>
    public SafeFileHandle File { get; }

    /// <summary>The database file's identity when opened: another one under the name means it was replaced.</summary>
    public UnixFiles.FileId? Id { get; }

    /// <summary>
    /// Opens <paramref name="path"/>, which must be an SQLite database in WAL mode, and takes the first read transaction.
    /// With <paramref name="keepWal"/> (a follower), the WAL outlives Cellar's connections (<see cref="PersistentWal"/>);
    /// without (a snapshot, done in seconds), closing the last connection to a database the app has closed removes it as
    /// SQLite always does.
    /// </summary>
    public static LiveDatabase Open(string path, bool keepWal = true)
    {
        SqliteFiles.RequireDatabase(path, "database");
        RequireWal(path);
        var connections = new List<SqliteConnection>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                connections.Add(SqliteFiles.OpenLive(path));
                if (keepWal)
                {
                    PersistentWal.TryKeep(connections[^1]);
                }
            }

            var writer = connections[2];
            writer.Execute($"PRAGMA busy_timeout={(int)WriterWait.TotalMilliseconds}");
            var id = UnixFiles.Stat(path)?.Id;

            // The first read opens the WAL and its index, creating the files (with the database's owner) when the app has
            // none open.
            Begin(connections[0]);
            var handles = new List<SafeFileHandle>();
            try
            {
                handles.Add(OpenReadOnly(path + "-wal"));
                handles.Add(HeldOpen.Read(path + "-shm"));
                handles.Add(OpenFile(path, id));
            }
            catch
            {
                // The -wal's alone: SQLite takes no lock on it, so it may be closed (HeldOpen's never are).
                handles.FirstOrDefault()?.Dispose();
                throw;
            }

            var live = new LiveDatabase(path, [connections[0], connections[1]], writer, connections[3], handles[0], handles[1], handles[2], id);
            live._reading[0] = true;
            return live;
        }
        catch
        {
            connections.ForEach(c => c.Dispose());
            throw;
        }
    }

    /// <summary>Throws unless the database file's header says WAL mode (<see cref="InWalMode"/>).</summary>
    public static void RequireWal(string path)
    {
        if (!InWalMode(path))
        {
            throw new CellarException($"database {path} is not in WAL mode; a stream job follows the WAL, and Cellar never changes the app's journal mode (the app sets it: PRAGMA journal_mode=WAL)");
        }
    }

    /// <summary>True when the database file's header says WAL mode (bytes 18 and 19 are 2).</summary>
    public static bool InWalMode(string path)
    {
        var header = new byte[20];
        RandomAccess.Read(HeldOpen.Read(path), header, 0);
        return header[18] == 2 && header[19] == 2;
    }

    /// <summary>
    /// True when <see cref="Path"/> still names the file opened, in WAL mode, and its <c>-wal</c> is still the one
    /// <see cref="Wal"/> reads: another under that name means the WAL was deleted under Cellar's connections (they
    /// would go on seeing the old one while the app writes the new one).
    /// </summary>
    public bool StillTheSame() =>
        UnixFiles.Stat(Path)?.Id == Id && InWalMode(Path) && (UnixFiles.FStat(Wal)?.Id is not { } wal || UnixFiles.Stat(Path + "-wal")?.Id == wal);

    /// <summary>Begins the other reader's read transaction, at the WAL's current end; the current one stays open.</summary>
    public void BeginNext()
    {
        var next = 1 - _current;
        if (!_reading[next])
        {
            Begin(_readers[next]);
            _reading[next] = true;
        }
    }

    /// <summary>Ends the previous reader's read transaction (once what it held is shipped); the next one becomes current.</summary>
    public void EndPrevious()
    {
        var next = 1 - _current;
        if (_reading[next])
        {
            End(_current);
            _current = next;
        }
    }

    /// <summary>Moves the read transaction to the WAL's current end, with no moment without one.</summary>
    public void RefreshRead()
    {
        BeginNext();
        EndPrevious();
    }

    /// <summary>Ends every read transaction: until <see cref="BeginRead"/>, SQLite may restart or truncate the WAL.</summary>
    public void EndRead()
    {
        End(0);
        End(1);
    }

    /// <summary>Takes a read transaction on the current reader.</summary>
    public void BeginRead()
    {
        if (!_reading[_current])
        {
            Begin(_readers[_current]);
            _reading[_current] = true;
        }
    }

    /// <summary>
    /// Begins a read transaction of its own for a base being copied while the follower goes on: it keeps the database
    /// file's pages as they are at this moment (no checkpoint copies a later frame over them) until disposed. Taken with
    /// writers held, right after the current reader was moved to the WAL's end, it sees exactly what that one does.
    /// </summary>
    public BaseHold HoldForBase()
    {
        Begin(_baseReader);
        return new BaseHold(_baseReader);
    }

    /// <summary>
    /// The current reader's connection, for queries inside its read transaction (a snapshot's inspection); nothing else
    /// may use it meanwhile, so only while no follower moves the reader on.
    /// </summary>
    public SqliteConnection Reading => _readers[_current];

    /// <summary>
    /// How many frames of the WAL the wal-index describes are already in the database file (the checkpoint's nBackfill);
    /// null when the header cannot be read whole.
    /// </summary>
    public long? Backfilled() => WalIndexHeader.Backfilled(Shm);

    /// <summary>
    /// The last committed frame of the WAL <paramref name="wal"/> describes (<see cref="WalIndexHeader.CommittedEnd"/>);
    /// throws when the wal-index cannot be read whole, so the caller tries again rather than guess.
    /// </summary>
    public long CommittedEnd(WalHeader wal) => WalIndexHeader.CommittedEnd(Shm, wal)
        ?? throw new CellarException($"database {Path}: the wal-index header (-shm) could not be read whole; trying again");

    /// <summary>The page size and page count the read transaction sees.</summary>
    public (int PageSize, long Pages) Shape() => ((int)(long)_readers[_current].Scalar("PRAGMA page_size")!, (long)_readers[_current].Scalar("PRAGMA page_count")!);

    /// <summary>
    /// Runs <paramref name="work"/> while no writer can commit (Cellar holds the write lock, waiting up to five seconds
    /// for the app's current transaction, or until <paramref name="cancellationToken"/> is cancelled), so the WAL's end
    /// is still at the moment.
    /// </summary>
    public T WithWritersHeld<T>(Func<T> work, CancellationToken cancellationToken) => TryWithWritersHeld(WriterWait, work, out var result, cancellationToken)
        ? result
        : throw new CellarException($"database {Path}: a writer held its lock for more than {WriterWait.TotalSeconds:0} s; trying again later");

    /// <summary>
    /// Runs <paramref name="work"/> while no writer can commit, once the app's current transaction ends within
    /// <paramref name="wait"/>; false (and nothing run) when it does not. Cancelling <paramref name="cancellationToken"/>
    /// ends the wait at once (<see cref="OperationCanceledException"/>).
    /// </summary>
    public bool TryWithWritersHeld<T>(TimeSpan wait, Func<T> work, out T result, CancellationToken cancellationToken)
    {
        if (!TryBeginImmediate(wait, cancellationToken))
        {
            result = default!;
            return false;
        }

        try
        {
            result = work();
            return true;
        }
        finally
        {
            _writer.Execute("ROLLBACK");
        }
    }

    /// <summary>
    /// <c>BEGIN IMMEDIATE</c>, tried again at once while the app's writer holds the lock, until <paramref name="wait"/>
    /// has passed. SQLite's busy handler sleeps between tries (1 ms, growing to 100 ms) and Microsoft.Data.Sqlite retries
    /// a busy statement every 150 ms for half a minute: an app that commits back to back holds the lock at almost every
    /// moment those look, so Cellar waited the whole half minute with its reader held and the WAL growing. Between two
    /// of the app's commits the lock is free for some microseconds, which a try after each yield of the thread finds.
    /// </summary>
    private bool TryBeginImmediate(TimeSpan wait, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _writer.Execute("PRAGMA busy_timeout=0");
        try
        {
            while (true)
            {
                var rc = SQLitePCL.raw.sqlite3_exec(_writer.Handle, "BEGIN IMMEDIATE");
                if (rc == SQLitePCL.raw.SQLITE_OK)
                {
                    return true;
                }

                if (rc != SQLitePCL.raw.SQLITE_BUSY)
                {
                    SqliteException.ThrowExceptionForRC(rc, _writer.Handle);
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= wait)
                {
                    return false;
                }

                cancellationToken.ThrowIfCancellationRequested();
                Thread.Yield();
            }
        }
        finally
        {
            _writer.Execute($"PRAGMA busy_timeout={(int)WriterWait.TotalMilliseconds}");
        }
    }

    /// <summary>
    /// Runs <c>PRAGMA wal_checkpoint(PASSIVE)</c>, which copies what no reader still needs into the database file
    /// without waiting on anyone.
    /// </summary>
    public void Checkpoint() => Checkpoint(_writer);

    /// <summary>
    /// With the app's writers held (<see cref="TryWithWritersHeld"/>) and every commit shipped: lets go of the read
    /// transaction, copies every frame into the database file, and takes a read transaction again, all before the next
    /// commit. The checkpoint runs on the reader's own connection: SQLite refuses one inside the writer's transaction.
    /// When every frame was copied, the new reader reads the database file alone (SQLite's read mark 0): it lets the
    /// app's next writer start the WAL over, once, and keeps that new WAL's frames from being copied until the follower
    /// moves on, so no second restart can pass unseen. (An app reader of an older moment keeps some frames, and the WAL
    /// going on, until a later checkpoint.)
    /// </summary>
    public void CopyEveryFrame()
    {
        EndRead();
        try
        {
            FaultInjection.ReaderReleased?.Invoke();
            Checkpoint(_readers[_current]);
        }
        finally
        {
            BeginRead();
        }
    }

    private static void Checkpoint(SqliteConnection connection) => connection.Execute("PRAGMA wal_checkpoint(PASSIVE)");

    public void Dispose()
    {
        // Shm and File are HeldOpen's, never closed: closing either would drop this process's SQLite locks on it.
        Wal.Dispose();
        _readers[0].Dispose();
        _readers[1].Dispose();
        _writer.Dispose();
        _baseReader.Dispose();
    }

    /// <summary>A deferred BEGIN takes no lock until the first read: the read takes it.</summary>
    private static void Begin(SqliteConnection reader)
    {
        reader.Execute("BEGIN");
        reader.Scalar("SELECT count(*) FROM sqlite_schema");
    }

    private void End(int reader)
    {
        if (_reading[reader])
        {
            _readers[reader].Execute("ROLLBACK");
            _reading[reader] = false;
        }
    }

    /// <summary>A read transaction of its own holding one moment (<see cref="HoldForBase"/>) until disposed.</summary>
    public sealed class BaseHold(SqliteConnection reader) : IDisposable
    {
        private bool _released;

        /// <summary>The connection whose read transaction it is, for queries at that moment; nothing else may use it meanwhile.</summary>
        public SqliteConnection Connection => reader;

        public void Dispose()
        {
            if (!_released)
            {
                reader.Execute("ROLLBACK");
                _released = true;
            }
        }
    }

    private static SafeFileHandle OpenFile(string path, UnixFiles.FileId? id)
    {
        var file = HeldOpen.Read(path);
        return id is null || UnixFiles.FStat(file)?.Id == id ? file : throw new CellarException($"database {path} was replaced while it was opened");
    }

    private static SafeFileHandle OpenReadOnly(string path) =>
        System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
}

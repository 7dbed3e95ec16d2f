using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Sqlite;

/// <summary>
/// <c>SQLITE_FCNTL_PERSIST_WAL</c> on a connection: should it be the last to close the database, SQLite still
/// checkpoints the WAL but leaves the file as it is rather than deleting it. A stream follower that stops while the app
/// is down would otherwise take with it the one thing that proves where the stream left off (the WAL's salts and
/// frames), and its next start would have to begin a new generation from a full base. The app's own connections keep
/// their default; the WAL is the one SQLite would find anyway, its frames all checkpointed. Microsoft.Data.Sqlite does
/// not expose <c>sqlite3_file_control</c>, so it is called in the SQLite library the provider already loaded.
/// </summary>
internal static partial class PersistentWal
{
    private const int PersistWalOption = 10; // SQLITE_FCNTL_PERSIST_WAL

    /// <summary>Asks <paramref name="connection"/> to keep the WAL at its close; false when the library would not (the stream then starts a new generation after such a stop, as before).</summary>
    public static bool TryKeep(SqliteConnection connection)
    {
        try
        {
            var on = 1;
            return FileControl(connection.Handle!.DangerousGetHandle(), "main", PersistWalOption, ref on) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_file_control", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FileControl(IntPtr db, string name, int option, ref int value);
}

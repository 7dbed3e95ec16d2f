using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Restore;

/// <summary>
/// Makes the database a restore replaces whole on its own before its companions are moved aside. An app that stopped
/// without a last checkpoint (killed, or another connection still open) leaves committed transactions only in its
/// <c>-wal</c>; one killed mid-transaction leaves a hot <c>-journal</c> the file needs rolled back. With those moved
/// aside and the swap not yet made, a crash would leave at the target neither the old database nor the new one (the
/// old file without its last commits). SQLite settles both as the app itself would on its next open: a read rolls back
/// a hot journal, a TRUNCATE checkpoint copies the <c>-wal</c> into the file, and closing the last connection removes
/// the <c>-wal</c> and <c>-shm</c>. The kept <c>pre-restore</c> file is then the whole old database.
/// </summary>
internal static class CompanionFold
{
    // Only a reader could hold a checkpoint up (writers are refused before): bounded, then the restore goes on without.
    private const int BusySeconds = 5;

    /// <summary>Folds what the companions of <paramref name="target"/> hold into it: null when done or nothing to fold, else why not.</summary>
    public static string? TryFold(string target)
    {
        if (!RestoreService.CompanionSuffixes.Any(suffix => new FileInfo(target + suffix) is { Exists: true, Length: > 0 }))
        {
            return null;
        }

        try
        {
            SqliteFiles.RequireDatabase(target, "database");
        }
        catch (CellarException)
        {
            // Not a database: nothing SQLite could fold; its companions are moved aside as they are.
            return null;
        }

        try
        {
            using var connection = SqliteFiles.OpenLive(target);
            using var command = connection.CreateCommand();
            command.CommandTimeout = BusySeconds;

            // The first read takes the shared lock, at which SQLite rolls back a hot journal or reads the -wal in.
            command.CommandText = "SELECT count(*) FROM sqlite_schema";
            command.ExecuteScalar();

            // One row: busy (1 when a reader kept the checkpoint from copying every frame), frames in the -wal, frames copied.
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            using var reader = command.ExecuteReader();
            return reader.Read() && reader.GetInt64(0) != 0 ? "another process is reading it" : null;
        }
        catch (SqliteException e)
        {
            return e.Message;
        }
    }
}

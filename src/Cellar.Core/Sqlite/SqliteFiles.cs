using Cellar.Core.IO;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Sqlite;

/// <summary>How Cellar opens SQLite files, in one place.</summary>
internal static class SqliteFiles
{
    // Microsoft.Data.Sqlite applies CommandTimeout only to its retries on SQLITE_BUSY; bounded so a writer that
    // never lets go fails the job instead of hanging it forever.
    private const int BusyRetrySeconds = 300;
    private static readonly byte[] Magic = "SQLite format 3\0"u8.ToArray();

    /// <summary>
    /// Fails with one line unless the app's database <paramref name="path"/> exists and starts with SQLite's header,
    /// read through the handle Cellar keeps on it (<see cref="HeldOpen"/>): one closed here would drop the locks of
    /// Cellar's connections to it.
    /// </summary>
    public static void RequireDatabase(string path, string what) => Require(path, what, held: true);

    /// <summary>The same for a database file Cellar made and alone uses (a decompressed backup), read and closed again.</summary>
    public static void RequireDatabaseFile(string path, string what) => Require(path, what, held: false);

    private static void Require(string path, string what, bool held)
    {
        if (Directory.Exists(path))
        {
            throw new CellarException($"{what} {path} is a directory, not an SQLite database");
        }

        if (!File.Exists(path))
        {
            throw new CellarException($"{what} {path} does not exist");
        }

        var header = new byte[Magic.Length];
        int read;
        try
        {
            if (held)
            {
                read = RandomAccess.Read(HeldOpen.Read(path), header, 0);
            }
            else
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            }
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CellarException($"{what} {path} is not readable: permission denied", e);
        }
        catch (IOException e)
        {
            throw new CellarException($"{what} {path} cannot be read: {e.Message}", e);
        }

        if (read < header.Length || !header.AsSpan().SequenceEqual(Magic))
        {
            throw new CellarException($"{what} {path} is not an SQLite database (bad header)");
        }
    }

    /// <summary>
    /// Opens a file nobody else writes (a snapshot copy, a decompressed backup) read-only and without locks or
    /// WAL side files, so checking it never leaves <c>-wal</c>/<c>-shm</c> files behind.
    /// </summary>
    public static SqliteConnection OpenImmutable(string path)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = new Uri(path).AbsoluteUri + "?immutable=1",
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Opens the live database of another process, never creating it.</summary>
    public static SqliteConnection OpenLive(string path, bool readOnly = false)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Runs a statement and returns the first column of the first row.</summary>
    public static object? Scalar(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = BusyRetrySeconds;
        return command.ExecuteScalar();
    }

    /// <summary>Runs statements that return nothing.</summary>
    public static void Execute(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = BusyRetrySeconds;
        command.ExecuteNonQuery();
    }

    /// <summary>Quotes an identifier for SQL.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

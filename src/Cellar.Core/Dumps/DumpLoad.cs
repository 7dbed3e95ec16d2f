using Cellar.Core.Compression;
using Cellar.Core.IO;
using Cellar.Core.Progress;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>
/// The restore drill of an SQL dump: decompress it while hashing the stored bytes and run it into a new, empty
/// database, which is then counted. A restore keeps that database as the source of the tables it swaps in.
/// </summary>
internal static class DumpLoad
{
    /// <summary>
    /// Loads the stored dump <paramref name="storedPath"/> into the new file <paramref name="scratchPath"/>, stopping
    /// once more than <paramref name="limit"/> bytes of SQL come out. A bad dump throws <see cref="InvalidDataException"/>
    /// (or the codec's error); a problem of this machine (full disk) <see cref="IOException"/>.
    /// </summary>
    public static (string Sha, IReadOnlyDictionary<string, long> Counts) Into(string storedPath, string scratchPath, Codec codec, long limit, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        using var file = new FileStream(storedPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var size = file.Length;
        using var hashing = new HashingStream(file, leaveOpen: true);
        using (var script = new BoundedStream(codec.OpenRead(hashing), limit, "its sidecar records"))
        {
            using var scratch = OpenScratch(scratchPath);
            var read = progress is null ? null : new InlineProgress<long>(_ => progress.Report(size == 0 ? 1 : (double)hashing.Bytes / size));
            SqlScript.Run(script, scratch, read, cancellationToken);

            // A decompressor may stop before the end of the file (trailing garbage after the last frame): hash it too.
            hashing.CopyTo(Stream.Null);
            return (hashing.HexHash(), Inspection.CountRows(scratch));
        }
    }

    /// <summary>A new, empty database at <paramref name="path"/> tuned for one bulk load.</summary>
    internal static SqliteConnection OpenScratch(string path)
    {
        SecureFiles.CreateNew(path, 1).Dispose();
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();

        // A scratch file: no journal, no syncs; it is thrown away or copied from inside a transaction. Defensive mode
        // keeps a crafted dump from rewriting its schema text (writable_schema), which a table restore runs live.
        connection.Execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8192;");
        SQLitePCL.raw.sqlite3_db_config(connection.Handle, SQLitePCL.raw.SQLITE_DBCONFIG_DEFENSIVE, 1, out _);
        return connection;
    }
}

using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Cellar.Core.Dumps;

/// <summary>
/// Writes chosen tables as SQL in the dialect of <c>sqlite3 .dump</c>: each table's CREATE TABLE as stored,
/// its rows as INSERTs in rowid (or primary-key) order, then its indexes and triggers, all in one transaction.
/// Values come out bit-exact (see <see cref="SqlWriter"/> and <see cref="RealLiteral"/>), so two dumps of the
/// same data are byte-identical. Rows stream through a small buffer: memory stays flat at any table size.
/// The caller holds the read transaction that makes the dump one consistent snapshot.
/// </summary>
internal static class TableDump
{
    private const int FlushBytes = 1 << 16;

    /// <summary>Writes <paramref name="tables"/> to <paramref name="output"/>; returns the rows written per table.</summary>
    public static Dictionary<string, long> Write(SqliteConnection connection, IReadOnlyList<string> tables, Stream output, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var utf8 = string.Equals((string?)connection.Scalar("PRAGMA encoding"), "UTF-8", StringComparison.OrdinalIgnoreCase);
        var sql = new SqlWriter();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        sql.Raw("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"u8);
        for (var t = 0; t < tables.Count; t++)
        {
            var table = DumpedTable.Read(connection, tables[t]);
            sql.Raw(table.CreateSql).Raw(";\n"u8);
            counts[table.Name] = Rows(connection, table, utf8, sql, output, cancellationToken);
            foreach (var dependent in table.Dependents)
            {
                sql.Raw(dependent).Raw(";\n"u8);
            }

            if (table.Sequence is { } sequence)
            {
                sql.Raw("DELETE FROM sqlite_sequence WHERE name=").Text(System.Text.Encoding.UTF8.GetBytes(table.Name)).Raw(";\n"u8);
                sql.Raw("INSERT INTO sqlite_sequence(name,seq) VALUES(").Text(System.Text.Encoding.UTF8.GetBytes(table.Name)).Raw(","u8).Integer(sequence).Raw(");\n"u8);
            }

            progress?.Report((t + 1.0) / tables.Count);
        }

        sql.Raw("COMMIT;\n"u8);
        output.Write(sql.Written.Span);
        return counts;
    }

    private static long Rows(SqliteConnection connection, DumpedTable table, bool utf8, SqlWriter sql, Stream output, CancellationToken cancellationToken)
    {
        // NOT INDEXED: scan the table's own b-tree, which is rowid order (or primary-key order WITHOUT ROWID),
        // never a covering index whose order could change with the query planner.
        var select = $"SELECT {table.ColumnList} FROM main.{SqliteFiles.Quote(table.Name)} NOT INDEXED";
        var prefix = new SqlWriter().Raw("INSERT INTO ").Identifier(table.Name)
            .Raw(table.HasGeneratedColumns ? $"({table.ColumnList})" : string.Empty).Raw(" VALUES(").Written.ToArray();
        var rc = raw.sqlite3_prepare_v2(connection.Handle, select, out var statement);
        SqliteException.ThrowExceptionForRC(rc, connection.Handle);
        using (statement)
        {
            var columns = raw.sqlite3_column_count(statement);
            long rows = 0;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                sql.Raw(prefix);
                for (var i = 0; i < columns; i++)
                {
                    if (i > 0)
                    {
                        sql.Raw(","u8);
                    }

                    Value(statement, i, utf8, sql);
                }

                sql.Raw(");\n"u8);
                if (sql.Written.Length >= FlushBytes)
                {
                    output.Write(sql.Written.Span);
                    sql.Clear();
                    cancellationToken.ThrowIfCancellationRequested();
                }

                rows++;
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, connection.Handle);
            }

            return rows;
        }
    }

    private static void Value(sqlite3_stmt statement, int i, bool utf8, SqlWriter sql)
    {
        switch (raw.sqlite3_column_type(statement, i))
        {
            case raw.SQLITE_INTEGER:
                sql.Integer(raw.sqlite3_column_int64(statement, i));
                break;
            case raw.SQLITE_FLOAT:
                sql.Real(raw.sqlite3_column_double(statement, i));
                break;
            case raw.SQLITE_TEXT:
                // The stored bytes as they are (blob access does no conversion in a UTF-8 database).
                sql.Text(utf8 ? raw.sqlite3_column_blob(statement, i) : System.Text.Encoding.UTF8.GetBytes(raw.sqlite3_column_text(statement, i).utf8_to_string()));
                break;
            case raw.SQLITE_BLOB:
                sql.Blob(raw.sqlite3_column_blob(statement, i));
                break;
            default:
                sql.Raw("NULL"u8);
                break;
        }
    }
}

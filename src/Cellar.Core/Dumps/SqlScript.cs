using System.Buffers;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Cellar.Core.Dumps;

/// <summary>
/// Runs an SQL dump (ours, or any <c>sqlite3 .dump</c>) statement by statement against a connection, the way the
/// sqlite3 shell reads a script: lines are gathered until SQLite says they form a complete statement. Reads
/// the stream once, with memory bounded by the longest statement.
/// </summary>
internal static class SqlScript
{
    private const int ReportBytes = 1 << 20;

    /// <summary>
    /// Executes all of <paramref name="script"/>. A statement SQLite rejects throws <see cref="InvalidDataException"/>
    /// naming its line (the dump is bad); a full or failing disk throws <see cref="IOException"/> (this machine is).
    /// </summary>
    public static void Run(Stream script, SqliteConnection connection, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        // A dump is data, not a program: it may not reach files beyond the database it is loaded into.
        raw.sqlite3_limit(connection.Handle, raw.SQLITE_LIMIT_ATTACHED, 0);

        var statement = new ArrayBufferWriter<byte>(1 << 12);
        var firstLine = 1L;
        var line = 0L;
        long consumed = 0;
        long reported = 0;
        var reader = new LineReader(script);
        while (reader.ReadLine() is { } text)
        {
            line++;
            consumed += text.Length;
            if (statement.WrittenCount == 0)
            {
                if (IsBlank(text.Span))
                {
                    continue;
                }

                firstLine = line;
            }

            statement.Write(text.Span);
            if (!EndsStatement(text.Span) || !IsComplete(statement.WrittenSpan))
            {
                continue;
            }

            Execute(connection, statement.WrittenSpan, firstLine);
            statement.ResetWrittenCount();
            if (consumed - reported >= ReportBytes)
            {
                reported = consumed;
                progress?.Report(consumed);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        if (!IsBlank(statement.WrittenSpan))
        {
            throw new InvalidDataException($"the dump ends inside a statement at line {line} (truncated?)");
        }

        progress?.Report(consumed);
    }

    /// <summary>Runs one complete statement (or a few on one line), each prepared from its own bytes only.</summary>
    private static void Execute(SqliteConnection connection, ReadOnlySpan<byte> sql, long firstLine)
    {
        var db = connection.Handle!;
        var remaining = sql;
        while (!IsBlank(remaining))
        {
            remaining = remaining.TrimStart("\n\r\t "u8);
            var offset = sql.Length - remaining.Length;
            var rc = raw.sqlite3_prepare_v2(db, remaining, out var statement, out var tail);
            if (rc != raw.SQLITE_OK)
            {
                throw Failed(db, sql[..offset], firstLine);
            }

            using (statement)
            {
                remaining = tail;
                if (statement.IsInvalid)
                {
                    continue; // only a comment
                }

                while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                {
                }

                if (rc != raw.SQLITE_DONE)
                {
                    throw Failed(db, sql[..offset], firstLine);
                }
            }
        }
    }

    private static Exception Failed(sqlite3 db, ReadOnlySpan<byte> before, long firstLine)
    {
        var message = raw.sqlite3_errmsg(db).utf8_to_string();
        if ((raw.sqlite3_errcode(db) & 0xFF) is raw.SQLITE_FULL or raw.SQLITE_IOERR)
        {
            return new IOException($"cannot write the loaded copy: {message}", raw.sqlite3_errcode(db) == raw.SQLITE_FULL ? 28 : 5);
        }

        var line = firstLine + before.Count((byte)'\n');
        return new InvalidDataException($"the dump fails at line {line}: {message}");
    }

    private static bool EndsStatement(ReadOnlySpan<byte> line) => line.TrimEnd("\n\r\t "u8) is [.., (byte)';'];

    private static bool IsBlank(ReadOnlySpan<byte> text) => text.Trim("\n\r\t "u8).IsEmpty;

    private static bool IsComplete(ReadOnlySpan<byte> statement)
    {
        var terminated = ArrayPool<byte>.Shared.Rent(statement.Length + 1);
        try
        {
            statement.CopyTo(terminated);
            terminated[statement.Length] = 0;
            return raw.sqlite3_complete(utf8z.FromSpan(terminated.AsSpan(0, statement.Length + 1))) != 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(terminated);
        }
    }
}

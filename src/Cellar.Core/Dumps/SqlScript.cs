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
    private const int BatchBytes = 1 << 20;

    /// <summary>Executes all of <paramref name="script"/>; a failing statement throws <see cref="CellarException"/> naming its line.</summary>
    public static void Run(Stream script, SqliteConnection connection, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        // A dump is data, not a program: it may not reach files beyond the database it is loaded into.
        raw.sqlite3_limit(connection.Handle, raw.SQLITE_LIMIT_ATTACHED, 0);

        var batch = new ArrayBufferWriter<byte>(BatchBytes + (BatchBytes / 4));
        var statementStart = 0;
        var batchFirstLine = 1L;
        var line = 0L;
        long consumed = 0;
        var reader = new LineReader(script);
        while (reader.ReadLine() is { } text)
        {
            line++;
            consumed += text.Length;
            if (batch.WrittenCount == statementStart && IsBlank(text.Span))
            {
                statementStart = batch.WrittenCount;
                continue;
            }

            batch.Write(text.Span);
            if (!EndsStatement(text.Span) || !IsComplete(batch.WrittenSpan[statementStart..]))
            {
                continue;
            }

            statementStart = batch.WrittenCount;
            if (batch.WrittenCount >= BatchBytes)
            {
                Execute(connection, batch.WrittenSpan, batchFirstLine);
                batch.ResetWrittenCount();
                statementStart = 0;
                batchFirstLine = line + 1;
                progress?.Report(consumed);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        if (!IsBlank(batch.WrittenSpan[statementStart..]))
        {
            throw new CellarException($"the dump ends inside a statement at line {line} (truncated?)");
        }

        Execute(connection, batch.WrittenSpan, batchFirstLine);
        progress?.Report(consumed);
    }

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

    private static CellarException Failed(sqlite3 db, ReadOnlySpan<byte> before, long firstLine)
    {
        var line = firstLine + before.Count((byte)'\n');
        return new CellarException($"the dump fails at line {line}: {raw.sqlite3_errmsg(db).utf8_to_string()}");
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

using Cellar.Core.IO;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Sqlite;

/// <summary>What a restore drill reads from a database file: its integrity, foreign keys and row counts.</summary>
/// <param name="Integrity">The first line of <c>PRAGMA integrity_check</c> ("ok" when sound).</param>
/// <param name="ForeignKeyViolations">Rows reported by <c>PRAGMA foreign_key_check</c> (null: not run, a quick inspection).</param>
/// <param name="RowCounts">Rows per table.</param>
internal sealed record Inspection(string Integrity, long? ForeignKeyViolations, IReadOnlyDictionary<string, long> RowCounts)
{
    /// <summary>
    /// Reads a database file that nobody is writing. <c>integrity_check</c> and the foreign-key check with the row
    /// counts run on two connections at once: each is single-threaded, and together they keep two cores busy. With
    /// <paramref name="quick"/>, <c>quick_check</c> instead (every page and record well formed, without comparing each
    /// index with its table: linear, not n·log n, five times faster on a large file) and no foreign-key check, for a
    /// file whose every byte is already proven to be what the app had, so only its structure is in question.
    /// </summary>
    public static Inspection Of(string path, CancellationToken cancellationToken, bool quick = false)
    {
        using var integrity = SqliteFiles.OpenImmutable(path);
        using var contents = SqliteFiles.OpenImmutable(path);
        return Of(integrity, contents, quick, cancellationToken);
    }

    /// <summary>
    /// The same inspection of the database two connections see, at one moment: a snapshot read where it lies, through
    /// two read transactions begun together (<paramref name="integrity"/> runs the integrity check,
    /// <paramref name="contents"/> the rest). Returns only once neither connection is in use.
    /// </summary>
    public static Inspection Of(SqliteConnection integrity, SqliteConnection contents, bool quick, CancellationToken cancellationToken)
    {
        try
        {
            return Inspect(integrity, contents, quick, cancellationToken);
        }
        catch (SqliteException) when (cancellationToken.IsCancellationRequested)
        {
            // sqlite3_interrupt surfaces as SQLITE_INTERRUPT: it is the cancellation, not a damaged file.
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private static Inspection Inspect(SqliteConnection integrityConnection, SqliteConnection contentsConnection, bool quick, CancellationToken cancellationToken)
    {
        var contents = OwnThread.Run(() => Contents(contentsConnection, foreignKeys: !quick, cancellationToken), cancellationToken);
        string integrity;
        try
        {
            using var interrupt = Interruptible(integrityConnection, cancellationToken);
            integrity = integrityConnection.Scalar(quick ? "PRAGMA quick_check" : "PRAGMA integrity_check") as string ?? "no result";
        }
        catch
        {
            // The caller closes the connection or deletes the file next: the other query must be done with it first.
            contents.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Wait(CancellationToken.None);
            throw;
        }

        try
        {
            var (violations, counts) = contents.GetAwaiter().GetResult();
            return new Inspection(integrity, violations, counts);
        }
        catch (SqliteException) when (integrity != "ok" && !cancellationToken.IsCancellationRequested)
        {
            // A damaged file can fail the other queries too; integrity_check's own words say more.
            return new Inspection(integrity, null, new Dictionary<string, long>());
        }
    }

    private static (long? Violations, IReadOnlyDictionary<string, long> Counts) Contents(SqliteConnection connection, bool foreignKeys, CancellationToken cancellationToken)
    {
        using var interrupt = Interruptible(connection, cancellationToken);
        var violations = foreignKeys ? (long?)connection.Scalar("SELECT count(*) FROM pragma_foreign_key_check") : null;
        return (violations, CountRows(connection));
    }

    /// <summary>Rows per ordinary table of the connection's main database.</summary>
    public static IReadOnlyDictionary<string, long> CountRows(SqliteConnection connection)
    {
        var tables = new List<string>();
        using (var command = connection.CreateCommand())
        {
            // Virtual tables are skipped: their module may not be loaded here, and their shadow tables are counted.
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            counts[table] = (long)connection.Scalar($"SELECT count(*) FROM {SqliteFiles.Quote(table)}")!;
        }

        return counts;
    }

    /// <summary>A check of a large file runs for seconds; cancellation (SIGTERM) interrupts the statement itself.</summary>
    private static CancellationTokenRegistration Interruptible(SqliteConnection connection, CancellationToken cancellationToken) =>
        cancellationToken.Register(() => SQLitePCL.raw.sqlite3_interrupt(connection.Handle));

    /// <summary>Differences from what a sidecar recorded (<paramref name="expectedViolations"/> null: not counted then), as one-line problems.</summary>
    public IEnumerable<string> Compare(IReadOnlyDictionary<string, long> expectedCounts, long? expectedViolations)
    {
        if (Integrity != "ok")
        {
            yield return $"integrity_check failed: {Integrity}";
            yield break;
        }

        if (expectedViolations is not null && ForeignKeyViolations != expectedViolations)
        {
            yield return $"foreign_key_check reports {ForeignKeyViolations} violations, the snapshot had {expectedViolations}";
        }

        foreach (var problem in CompareCounts(RowCounts, expectedCounts, "the snapshot"))
        {
            yield return problem;
        }
    }

    /// <summary>Differences between row counts found and those <paramref name="source"/> recorded, as one-line problems.</summary>
    public static IEnumerable<string> CompareCounts(IReadOnlyDictionary<string, long> actualCounts, IReadOnlyDictionary<string, long> expectedCounts, string source)
    {
        foreach (var (table, expected) in expectedCounts)
        {
            if (!actualCounts.TryGetValue(table, out var actual))
            {
                yield return $"table {table} is missing";
            }
            else if (actual != expected)
            {
                yield return $"table {table} has {actual} rows, {source} had {expected}";
            }
        }

        foreach (var table in actualCounts.Keys.Where(t => !expectedCounts.ContainsKey(t)))
        {
            yield return $"table {table} was not in {source}";
        }
    }
}

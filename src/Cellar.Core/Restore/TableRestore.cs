using System.Globalization;
using Cellar.Core.Artifacts;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Dumps;
using Cellar.Core.IO;
using Cellar.Core.Progress;
using Cellar.Core.Snapshots;
using Cellar.Core.Sqlite;
using Cellar.Core.Verification;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Restore;

/// <summary>
/// Restores tables from an SQL dump into a live database: the dump is verified by loading it into a scratch
/// database beside the target; a safety copy of the target is taken; then, inside one write transaction on
/// the live file, each chosen table is dropped, recreated exactly as dumped, refilled from the scratch copy
/// and given back its indexes and triggers. Every other table is left as it is. Foreign keys into and out
/// of the restored tables are checked before commit, and any violation rolls the whole restore back.
/// </summary>
/// <remarks>Over 300 lines on purpose: the restore is one write transaction on the live file, and its steps (drop, recreate, refill, indexes, foreign-key checks, rollback) share that connection; split, each part would need it passed in and the rollback would be read in pieces.</remarks>
public sealed partial class TableRestore(TimeProvider time, TimeZoneInfo zone, ILogger<TableRestore> logger)
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(60);


    /// <summary>
    /// Restores <paramref name="tables"/> (null: every dumped table) from <paramref name="backupPath"/> into
    /// <paramref name="targetPath"/>. An empty list is a usage error, never "every table".
    /// </summary>
    public async Task<TableRestoreResult> RestoreAsync(string backupPath, string targetPath, IReadOnlyList<string>? tables, bool safetyCopy, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        if (tables is { Count: 0 })
        {
            throw new ConfigException("no table chosen: name the tables to restore, or leave the choice out to restore every dumped table");
        }

        var target = RestoreTarget.Check(targetPath);
        var folder = Path.GetDirectoryName(target)!;

        // Held to the end: two restores at once would pick the same safety-copy name.
        using var exclusive = await RestoreLock.AcquireAsync(folder, time, logger, cancellationToken).ConfigureAwait(false);
        using var scratch = TempFile.For(folder, Path.GetFileName(target), "restore");
        var stage = progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress("verify", f)));
        var check = await BackupVerifier.ExpandAndCheckAsync(backupPath, scratch.Path, stage, cancellationToken).ConfigureAwait(false);
        if (!check.Ok)
        {
            throw new BackupRejectedException(backupPath, check);
        }

        var sidecar = check.Sidecar!;
        if (ArtifactKinds.Of(sidecar) is { Restore: not RestoreWay.Tables } kind)
        {
            throw new ConfigException(kind.Refusal(backupPath, RestoreWay.Tables));
        }

        var chosen = Choose(scratch.Path, tables, backupPath);
        var exists = RestoreTarget.Exists(target);
        if (exists)
        {
            SqliteFiles.RequireDatabase(target, "target database");

            // The app may keep running through a table restore (its commits wait for the swap), but only by the same
            // name: through a hard link it keeps its own -wal, and its commits would vanish at the next checkpoint.
            if (WriterDetector.OpenedByAnotherName(target) is [var (pid, app, openedAs), ..])
            {
                throw new CellarException($"{target} is open by process {pid} ({app}) as {openedAs}: SQLite keeps one -wal per name, so its commits would be lost; stop it, or restore to {openedAs}");
            }
        }

        // A restore that changes nothing leaves nothing behind: no safety copy of a database it did not touch, no empty
        // database where there was none.
        string? saved = null;
        List<string> changedSchemas;
        TimeSpan held;
        try
        {
            if (exists && safetyCopy)
            {
                saved = await SafetyCopyAsync(target, progress, cancellationToken).ConfigureAwait(false);
            }

            var started = time.GetTimestamp();
            changedSchemas = await OwnThread.Run(() => Swap(target, scratch.Path, chosen, cancellationToken), cancellationToken).ConfigureAwait(false);
            held = time.GetElapsedTime(started);
        }
        catch (Exception e)
        {
            var cleanup = saved is null ? [] : new List<string> { saved };
            // The empty database the swap created, rolled back to nothing; anything more is someone else's by now.
            if (!exists && new FileInfo(target) is { Exists: true, Length: 0 })
            {
                cleanup.Add(target);
                cleanup.AddRange(RestoreService.CompanionSuffixes.Select(suffix => target + suffix));
            }

            foreach (var leftover in cleanup)
            {
                try
                {
                    File.Delete(leftover);
                }
                catch (Exception cleanupError) when (cleanupError is IOException or UnauthorizedAccessException)
                {
                    LogCleanupFailed(logger, leftover, cleanupError.Message);
                }
            }

            if (e is SqliteException sqlite && !cancellationToken.IsCancellationRequested)
            {
                throw new CellarException($"restoring {string.Join(", ", chosen)} into {target} failed: {sqlite.Message}; rolled back, nothing was changed", e);
            }

            throw;
        }

        foreach (var table in changedSchemas)
        {
            LogSchemaChanged(logger, table, target);
        }

        var counts = chosen.ToDictionary(t => t, t => sidecar.RowCounts[t], StringComparer.Ordinal);
        var names = string.Join(", ", chosen);
        LogRestored(logger, names, backupPath, target, (long)held.TotalMilliseconds);
        return new TableRestoreResult(target, counts, saved, changedSchemas, held, sidecar);
    }

    /// <summary>
    /// Copies the live database to <c>PATH.pre-restore-STAMP</c>, online like a snapshot, under a temp name until it is
    /// whole and on disk: a copy cut short must never pass for the database as it was.
    /// </summary>
    private async Task<string> SafetyCopyAsync(string target, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        var stamp = TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var saved = RestoreService.FreeSavedName(target, stamp);
        var copying = progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress("safety copy", f)));
        using var copy = TempFile.For(Path.GetDirectoryName(target)!, Path.GetFileName(saved));
        await SqliteSnapshot.CopyAsync(target, copy.Path, time, copying, logger, cancellationToken).ConfigureAwait(false);
        using (var written = new FileStream(copy.Path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Fsync.File(written);
        }

        copy.Commit(saved);
        LogSafetyCopy(logger, target, saved);
        return saved;
    }

    /// <summary>The dumped tables to restore, in the dump's order; a name the dump lacks is a usage error.</summary>
    private static List<string> Choose(string scratchPath, IReadOnlyList<string>? requested, string backupPath)
    {
        using var connection = SqliteFiles.OpenImmutable(scratchPath);
        var dumped = TableSelection.Resolve(connection, ["*"], backupPath);
        if (requested is null)
        {
            return [.. dumped];
        }

        var chosen = new List<string>();
        foreach (var name in requested)
        {
            var match = dumped.FirstOrDefault(t => string.Equals(t, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ConfigException($"table '{name}' is not in {Path.GetFileName(backupPath)}; it holds {string.Join(", ", dumped)}");
            chosen.Add(match);
        }

        return dumped.Where(chosen.Contains).ToList();
    }

    /// <summary>The swap itself, in one write transaction; returns the tables whose live schema differed from the dump's.</summary>
    private static List<string> Swap(string target, string scratchPath, IReadOnlyList<string> tables, CancellationToken cancellationToken)
    {
        using var live = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = target, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        live.Open();

        // Foreign-key enforcement would turn DROP TABLE into a DELETE that cascades into other tables; the keys are
        // checked explicitly below instead. It can only be switched outside a transaction.
        live.Execute($"PRAGMA foreign_keys=OFF; PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds};");
        live.Execute($"ATTACH DATABASE {SqlString(scratchPath)} AS dump");
        using var interrupt = cancellationToken.Register(() => SQLitePCL.raw.sqlite3_interrupt(live.Handle));
        live.Execute("BEGIN IMMEDIATE");
        try
        {
            var changed = new List<string>();
            foreach (var name in tables)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var dumped = DumpedTable.Read(live, name, "dump");
                var before = Exists(live, name) ? DumpedTable.Read(live, name) : null;
                if (before is not null && before.CreateSql != dumped.CreateSql)
                {
                    changed.Add(name);
                }

                var quoted = SqliteFiles.Quote(name);
                live.Execute($"DROP TABLE IF EXISTS main.{quoted}");
                ThrowOnTakenNames(live, name, target);
                RunSchemaStatement(live, dumped.CreateSql, name);
                live.Execute($"INSERT INTO main.{quoted} ({dumped.ColumnList}) SELECT {dumped.ColumnList} FROM dump.{quoted} NOT INDEXED");
                foreach (var dependent in dumped.Dependents)
                {
                    RunSchemaStatement(live, dependent, name);
                }

                // AUTOINCREMENT must never hand out an id the live table had already used since the dump.
                if (Max(before?.Sequence, dumped.Sequence) is { } sequence)
                {
                    using var command = live.CreateCommand();
                    command.CommandText = "DELETE FROM main.sqlite_sequence WHERE name = $name; INSERT INTO main.sqlite_sequence (name, seq) VALUES ($name, $seq)";
                    command.Parameters.AddWithValue("$name", name);
                    command.Parameters.AddWithValue("$seq", sequence);
                    command.ExecuteNonQuery();
                }
            }

            ThrowOnBrokenForeignKeys(live, tables, target);
            live.Execute("COMMIT");
            return changed;
        }
        catch (Exception e)
        {
            // SQLite ends the transaction itself on an interrupt, a full disk or an I/O error: a ROLLBACK then would
            // fail and hide the real error.
            if (SQLitePCL.raw.sqlite3_get_autocommit(live.Handle) == 0)
            {
                live.Execute("ROLLBACK");
            }

            if (e is SqliteException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            throw;
        }
    }

    /// <summary>
    /// Index and trigger names are one namespace per database: a table renamed since the dump (a migration) keeps its
    /// indexes' names, and recreating the dumped table's would fail on them. Said plainly, before anything runs, since
    /// only the operator can decide what becomes of the other table's index.
    /// </summary>
    private static void ThrowOnTakenNames(SqliteConnection live, string table, string target)
    {
        using var command = live.CreateCommand();
        command.CommandText = """
            SELECT d.type, d.name, m.type, m.tbl_name FROM dump.sqlite_schema d JOIN main.sqlite_schema m ON m.name = d.name
            WHERE d.tbl_name = $table AND d.type IN ('index', 'trigger') AND d.sql IS NOT NULL LIMIT 1
            """;
        command.Parameters.AddWithValue("$table", table);
        using var reader = command.ExecuteReader();
        if (reader.Read())
        {
            var taken = reader.GetString(2);
            throw new CellarException(
                $"cannot restore {table}: its {reader.GetString(0)} {reader.GetString(1)} has the name of {(taken.StartsWith('i') ? "an" : "a")} {taken} of table {reader.GetString(3)} in {target} "
                + $"(renamed since the dump?); drop or rename that {taken}, then restore again; nothing was changed");
        }
    }

    /// <summary>
    /// Runs one schema statement of the dump (its CREATE TABLE, an index or a trigger) on the live database: exactly
    /// one statement of the expected kind, so text in the dump's schema can never smuggle in anything else.
    /// </summary>
    private static void RunSchemaStatement(SqliteConnection live, string sql, string table)
    {
        var trimmed = sql.TrimStart();
        string[] kinds = ["CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE TRIGGER"];
        if (!kinds.Any(k => trimmed.StartsWith(k, StringComparison.OrdinalIgnoreCase)))
        {
            throw new CellarException($"the dump's schema for {table} holds a statement that is not a CREATE TABLE, INDEX or TRIGGER; not restoring it");
        }

        var rc = SQLitePCL.raw.sqlite3_prepare_v2(live.Handle, sql, out var statement, out string tail);
        using (statement)
        {
            SqliteException.ThrowExceptionForRC(rc, live.Handle);
            if (!string.IsNullOrWhiteSpace(tail) && tail.Trim() != ";")
            {
                throw new CellarException($"the dump's schema for {table} holds more than one statement; not restoring it");
            }

            rc = SQLitePCL.raw.sqlite3_step(statement);
            if (rc != SQLitePCL.raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, live.Handle);
            }
        }
    }

    /// <summary>Rows in or pointing into the restored tables whose parent row is missing.</summary>
    private static void ThrowOnBrokenForeignKeys(SqliteConnection live, IReadOnlyList<string> tables, string target)
    {
        var restored = tables.ToHashSet(StringComparer.OrdinalIgnoreCase);
        using var command = live.CreateCommand();
        command.CommandText = "PRAGMA main.foreign_key_check";
        using var reader = command.ExecuteReader();
        var broken = 0L;
        string? first = null;
        while (reader.Read())
        {
            var child = reader.GetString(0);
            var parent = reader.GetString(2);
            if (!restored.Contains(child) && !restored.Contains(parent))
            {
                continue; // the live database's own older problem, not ours to judge
            }

            broken++;
            first ??= $"{child} row {(reader.IsDBNull(1) ? "?" : reader.GetInt64(1).ToString(CultureInfo.InvariantCulture))} points to a missing {parent} row";
        }

        if (broken > 0)
        {
            throw new CellarException($"restoring {string.Join(", ", tables)} would break {broken} foreign key reference(s) ({first}); rolled back, {target} is unchanged");
        }
    }

    private static bool Exists(SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", name);
        return (long)command.ExecuteScalar()! > 0;
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    private static string SqlString(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not remove {Path}, left by a table restore that changed nothing: {Error}")]
    private static partial void LogCleanupFailed(ILogger logger, string path, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "safety copy of {Target} taken as {Saved}")]
    private static partial void LogSafetyCopy(ILogger logger, string target, string saved);

    [LoggerMessage(Level = LogLevel.Warning, Message = "table {Table} in {Target} had another schema than the dump's; it was restored with the dump's schema")]
    private static partial void LogSchemaChanged(ILogger logger, string table, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "restored {Tables} from {Backup} into {Target} (write lock held {HeldMs} ms)")]
    private static partial void LogRestored(ILogger logger, string tables, string backup, string target, long heldMs);
}

/// <summary>What a table restore did.</summary>
/// <param name="Target">The database written.</param>
/// <param name="RowCounts">Rows now in each restored table.</param>
/// <param name="SafetyCopy">Where the target was copied first, if it was.</param>
/// <param name="SchemaChanged">Restored tables whose live schema had differed from the dump's.</param>
/// <param name="WriteLockHeld">How long the live database's writers were held off.</param>
/// <param name="Sidecar">The dump's sidecar.</param>
public sealed record TableRestoreResult(string Target, IReadOnlyDictionary<string, long> RowCounts, string? SafetyCopy, IReadOnlyList<string> SchemaChanged, TimeSpan WriteLockHeld, Catalog.Sidecar Sidecar);

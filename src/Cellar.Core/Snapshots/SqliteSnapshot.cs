using System.Diagnostics;
using Cellar.Core.IO;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Cellar.Core.Snapshots;

/// <summary>
/// Copies a live database into a plain file with SQLite's online backup API, inside one read transaction
/// held on the source for the whole copy.
/// Holding the transaction is what makes this work on a busy database: the backup API restarts whenever
/// another connection commits between two steps (the seed's <c>sqlite3 .backup</c> never finishes under
/// 500 commits/s), but within our own read transaction the source cannot change under us. In WAL mode
/// that transaction blocks nobody; in rollback-journal mode it blocks writers' commits for the copy only
/// (compression happens afterwards, from the copy), and we measure for how long.
/// </summary>
internal static class SqliteSnapshot
{
    private const int DefaultPagesPerStep = 8192;
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(60);
    private static readonly AsyncLocal<int?> PagesPerStepOverride = new();

    /// <summary>
    /// Pages copied per backup step (32 MiB of 4 KiB pages): between steps the copy reports progress and notices
    /// cancellation. Not an operator's setting: under our read transaction the step size changes neither what is
    /// copied nor how long writers wait. Tests set a small value for their own async flow (an
    /// <see cref="AsyncLocal{T}"/>, like <see cref="FaultInjection"/>) so a database of a few MB copies in many steps,
    /// as a production one does, and the app's commits land between steps.
    /// </summary>
    internal static int PagesPerStep
    {
        get => PagesPerStepOverride.Value ?? DefaultPagesPerStep;
        set => PagesPerStepOverride.Value = value;
    }

    /// <summary>
    /// Copies <paramref name="sourcePath"/> into the new file <paramref name="copyPath"/>; <paramref name="notices"/> hears
    /// when the copy has to wait for a writer's lock.
    /// </summary>
    public static async Task<SnapshotInfo> CopyAsync(string sourcePath, string copyPath, TimeProvider time, IProgress<double>? progress, ILogger? notices, CancellationToken cancellationToken)
    {
        SqliteFiles.RequireDatabase(sourcePath, "database");

        // Created by us first so the copy is owner-only from its first byte; SQLite then opens the empty file.
        await SecureFiles.CreateNew(copyPath, 1).DisposeAsync().ConfigureAwait(false);
        using var source = OpenSource(sourcePath);
        using var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copyPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        copy.Open();

        // The copy is a scratch file until it is compressed and verified: no journal, no syncs.
        copy.Execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
        source.Execute($"PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds}");

        // Writers are held off from when our read lock is taken, not while we wait for it.
        var held = new Stopwatch();
        source.Execute("BEGIN");
        string journalMode;
        DateTimeOffset taken;
        long pageCount;
        long pageSize;
        try
        {
            await PinSnapshotAsync(source, sourcePath, notices, cancellationToken).ConfigureAwait(false);
            held.Start();
            taken = time.GetUtcNow();
            journalMode = (string)source.Scalar("PRAGMA journal_mode")!;
            pageSize = (long)source.Scalar("PRAGMA page_size")!;
            pageCount = (long)source.Scalar("PRAGMA page_count")!;
            await StepAsync(source, copy, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            source.Execute("ROLLBACK");
        }

        held.Stop();
        var wal = string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase);
        if (wal)
        {
            // Keep the source's journal mode so a restored file (even one restored by gunzip) behaves as before.
            copy.Execute("PRAGMA journal_mode=WAL");
        }

        return new SnapshotInfo(pageSize, pageCount, journalMode.ToLowerInvariant(), wal ? null : held.Elapsed, taken);
    }

    /// <summary>
    /// Takes the read lock that pins the snapshot: a deferred BEGIN takes none until the first read. A writer
    /// committing non-stop in rollback-journal mode holds its lock almost all the time and frees it for
    /// microseconds between commits; SQLite's busy handler backs off to 100 ms sleeps and can miss those gaps
    /// for tens of seconds, so poll every millisecond instead, within the same overall busy timeout.
    /// </summary>
    private static async Task PinSnapshotAsync(SqliteConnection source, string path, ILogger? notices, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        var told = false;
        source.Execute("PRAGMA busy_timeout=0");
        try
        {
            while (true)
            {
                var rc = raw.sqlite3_exec(source.Handle, "SELECT count(*) FROM sqlite_schema");
                if ((rc & 0xFF) != raw.SQLITE_BUSY)
                {
                    SqliteException.ThrowExceptionForRC(rc, source.Handle);
                    return;
                }

                if (waited.Elapsed >= BusyTimeout)
                {
                    throw new CellarException($"database {path} stayed locked by a writer for {BusyTimeout.TotalSeconds:0} s (a long write transaction?); no snapshot taken");
                }

                if (!told && notices is not null && waited.Elapsed >= Waiting.Quiet)
                {
                    told = true;
                    Waiting.Notice(notices, $"{path}: a writer ({LockHolder.Of(path)}) holds its lock (rollback journal)", BusyTimeout);
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            source.Execute($"PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds}");
        }
    }

    internal static SqliteConnection OpenSource(string path)
    {
        try
        {
            return SqliteFiles.OpenLive(path);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is raw.SQLITE_READONLY or raw.SQLITE_CANTOPEN or raw.SQLITE_PERM)
        {
            // A database we may read but not write (a read-only mount, another owner) can still be backed up.
            try
            {
                return SqliteFiles.OpenLive(path, readOnly: true);
            }
            catch (SqliteException inner)
            {
                throw new CellarException($"database {path} cannot be opened: {inner.Message}", inner);
            }
        }
        catch (SqliteException e)
        {
            throw new CellarException($"database {path} cannot be opened: {e.Message}", e);
        }
    }

    private static async Task StepAsync(SqliteConnection source, SqliteConnection copy, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var backup = raw.sqlite3_backup_init(copy.Handle, "main", source.Handle, "main")
            ?? throw new CellarException($"cannot start the SQLite backup: {raw.sqlite3_errmsg(copy.Handle).utf8_to_string()}");
        var busy = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rc = raw.sqlite3_backup_step(backup, PagesPerStep);
                if (rc == raw.SQLITE_DONE)
                {
                    progress?.Report(1);
                    return;
                }

                if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
                {
                    if (busy.Elapsed > BusyTimeout)
                    {
                        throw new CellarException($"SQLite backup gave up: the database stayed locked for {BusyTimeout.TotalSeconds:0} s");
                    }

                    await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                busy.Restart();

                if (rc == raw.SQLITE_FULL)
                {
                    // The copy's disk, the backup folder's, is full: an ENOSPC, which JobRunner reports as such.
                    throw new IOException("No space left on device (SQLite: database or disk is full)", 28);
                }

                if (rc != raw.SQLITE_OK)
                {
                    throw new CellarException($"SQLite backup failed: {raw.sqlite3_errstr(rc).utf8_to_string()} ({rc})");
                }

                var total = raw.sqlite3_backup_pagecount(backup);
                progress?.Report(total == 0 ? 1 : 1 - ((double)raw.sqlite3_backup_remaining(backup) / total));
            }
        }
        finally
        {
            raw.sqlite3_backup_finish(backup);
        }
    }
}

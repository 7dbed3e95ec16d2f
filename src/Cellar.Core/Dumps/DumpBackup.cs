using System.IO.Pipelines;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Snapshots;
using Cellar.Core.Verification;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Dumps;

/// <summary>
/// Makes one table dump: all listed tables from one consistent snapshot, streamed as SQL through the
/// compressor into a temp file, fsynced, then proven by loading it into an empty database and counting
/// every table, and only then given its final name, exactly like a snapshot backup.
/// </summary>
internal sealed class DumpBackup(TimeProvider time, ILogger? notices)
{
    // The SQL text between the dump and the compressor: enough to keep both busy, small enough to stay flat.
    private const long PipeBytes = 8 << 20;

    public async Task<(string Path, Sidecar Sidecar)> RunAsync(JobConfig job, TimeZoneInfo zone, string? tag, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var slug = tag is null ? null : Slug.From(tag);
        using var copy = TempFile.For(job.Folder, job.Name, "db");
        var source = await OpenSnapshotAsync(job.Database.Path, copy.Path, progress, cancellationToken).ConfigureAwait(false);
        using var connection = source.Connection;

        var finalPath = BackupCatalog.FreePath(job, TimeZoneInfo.ConvertTime(source.Taken, zone).DateTime, slug);
        var name = Path.GetFileName(finalPath);
        var codec = Codec.For(job.Compression, job.CompressionLevel);
        using var stored = TempFile.For(job.Folder, name);
        using var scratch = TempFile.For(job.Folder, name, "verify");
        IReadOnlyList<string> tables;
        try
        {
            tables = TableSelection.Resolve(connection, job.Tables, job.Database.Path);
        }
        catch (TableSelectionException e)
        {
            // A schema that drifted since the config was written (a renamed table) fails this job's run, naming the
            // entry to fix; the config itself stays valid, so every other job and command goes on.
            throw new CellarException($"{job.Key}:tables:{e.Index}: {e.Message}", e);
        }

        var outcome = await DumpAsync(connection, tables, stored.Path, scratch.Path, codec, SnapshotBackup.Stage(progress, "dump"), cancellationToken).ConfigureAwait(false);

        // End the read transaction (and drop a rollback-journal copy) before reading the stored file back.
        connection.Dispose();
        copy.Dispose();
        scratch.Dispose();
        var problem = Inspection.CompareCounts(outcome.Loaded, outcome.Dumped, "the dump").FirstOrDefault()
            ?? await Task.Run(() => CompressedFile.Mismatch(stored.Path, codec, outcome.TextSha, outcome.TextBytes, "SQL", cancellationToken), cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            throw new CellarException($"verification failed: {problem}; backup not kept");
        }

        var sidecar = new Sidecar
        {
            Kind = Sidecar.DumpKind,
            Job = job.Name,
            Database = job.Database.Name,
            Tag = tag,
            TagSlug = slug,
            Created = source.Taken,
            SourcePath = job.Database.Path,
            SourceBytes = outcome.TextBytes, // the SQL's length: a check stops decompressing there
            JournalMode = source.JournalMode,
            RowCounts = new SortedDictionary<string, long>(outcome.Dumped, StringComparer.Ordinal),
            Sha256 = outcome.StoredSha,
            SizeBytes = outcome.StoredBytes,
            Compression = codec.Kind.ToString().ToLowerInvariant(),
            Verified = true,
            DurationMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
            WritersHeldOffMs = source.WritersHeldOff is { } held ? (long)held.TotalMilliseconds : null,
            CellarVersion = SnapshotBackup.CellarVersion,
        };
        sidecar.Publish(stored, finalPath);
        return (finalPath, sidecar);
    }

    /// <summary>
    /// One consistent view of the database. In WAL mode a read transaction on the live file, which blocks nobody;
    /// in rollback-journal mode such a transaction would hold writers off for the whole dump, so the file is first
    /// copied (holding them off only for the page copy) and the copy is dumped.
    /// </summary>
    private async Task<Snapshot> OpenSnapshotAsync(string path, string copyPath, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        SqliteFiles.RequireDatabase(path, "database");
        var live = SqliteSnapshot.OpenSource(path);
        try
        {
            live.Execute("PRAGMA busy_timeout=60000");
            if (string.Equals((string?)live.Scalar("PRAGMA journal_mode"), "wal", StringComparison.OrdinalIgnoreCase))
            {
                // A deferred BEGIN takes its snapshot at the first read.
                live.Execute("BEGIN");
                live.Scalar("SELECT count(*) FROM sqlite_schema");
                return new Snapshot(live, "wal", time.GetUtcNow(), null);
            }
        }
        catch
        {
            live.Dispose();
            throw;
        }

        live.Dispose();
        var info = await SqliteSnapshot.CopyAsync(path, copyPath, time, SnapshotBackup.Stage(progress, "snapshot"), notices, cancellationToken).ConfigureAwait(false);
        return new Snapshot(SqliteFiles.OpenImmutable(copyPath), info.JournalMode, info.Taken, info.WritersHeldOff);
    }

    /// <summary>
    /// Streams the dump, once, to the compressor and to a loader running it into an empty scratch database: the
    /// restore drill happens while the dump is written, on the other core, instead of after it.
    /// </summary>
    private static async Task<Outcome> DumpAsync(
        SqliteConnection connection, IReadOnlyList<string> tables, string storedPath, string scratchPath, Codec codec, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var toCompressor = NewPipe();
        var toLoader = NewPipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var text = new HashingStream(new TeeStream(toCompressor.Writer.AsStream(), toLoader.Writer.AsStream()));
        // Both run synchronous SQLite work for the whole dump: threads of their own, not borrowed pool threads.
        var dumping = Task.Factory.StartNew(() =>
        {
            try
            {
                var counts = TableDump.Write(connection, tables, text, progress, stop.Token);
                var written = (Counts: counts, Sha: text.HexHash(), Bytes: text.BytesHashed);
                text.Dispose(); // completes both pipes: the readers see the end of the dump

                // The loader may run on for a while: the read transaction (which holds back WAL checkpoints) ends now.
                if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0)
                {
                    connection.Execute("ROLLBACK");
                }

                return written;
            }
            catch (Exception e)
            {
                // The readers must see the failure, never a clean end of a dump that stopped half way.
                toCompressor.Writer.Complete(e);
                toLoader.Writer.Complete(e);
                throw;
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var loading = Task.Factory.StartNew(() =>
        {
            using var sql = toLoader.Reader.AsStream();
            using var scratch = DumpLoad.OpenScratch(scratchPath);
            SqlScript.Run(sql, scratch, null, stop.Token);
            return Inspection.CountRows(scratch);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var compressing = CompressAsync(toCompressor.Reader, storedPath, codec, stop.Token);

        // Whichever fails first stops the others, so none is left writing into a pipe nobody reads.
        Task[] all = [dumping, loading, compressing];
        using var stopOnFailure = new CancellationTokenSource();
        foreach (var task in all)
        {
            _ = task.ContinueWith(_ => stop.Cancel(), stopOnFailure.Token, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }

        try
        {
            await Task.WhenAll(all).ConfigureAwait(false);
        }
        catch
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw all.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                ?? new OperationCanceledException(cancellationToken);
        }
        finally
        {
            // Continuations not yet run must not touch 'stop' once it is disposed.
            await stopOnFailure.CancelAsync().ConfigureAwait(false);
        }

        var (storedSha, storedBytes) = await compressing.ConfigureAwait(false);
        var written = await dumping.ConfigureAwait(false);
        return new Outcome(written.Counts, await loading.ConfigureAwait(false), written.Sha, written.Bytes, storedSha, storedBytes);
    }

    private static async Task<(string Sha, long Size)> CompressAsync(PipeReader sql, string storedPath, Codec codec, CancellationToken cancellationToken)
    {
        await using var input = sql.AsStream();
        return await CompressedFile.WriteAsync(input, storedPath, codec, null, cancellationToken).ConfigureAwait(false);
    }

    private static Pipe NewPipe() => new(new PipeOptions(pauseWriterThreshold: PipeBytes, resumeWriterThreshold: PipeBytes / 2, useSynchronizationContext: false));

    private sealed record Outcome(Dictionary<string, long> Dumped, IReadOnlyDictionary<string, long> Loaded, string TextSha, long TextBytes, string StoredSha, long StoredBytes);

    private sealed record Snapshot(SqliteConnection Connection, string JournalMode, DateTimeOffset Taken, TimeSpan? WritersHeldOff);
}

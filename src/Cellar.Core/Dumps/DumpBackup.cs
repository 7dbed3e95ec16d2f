using System.IO.Pipelines;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Snapshots;
using Cellar.Core.Verification;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>
/// Makes one table dump: all listed tables from one consistent snapshot, streamed as SQL through the
/// compressor into a temp file, fsynced, then proven by loading it into an empty database and counting
/// every table, and only then given its final name, exactly like a snapshot backup.
/// </summary>
internal sealed class DumpBackup(TimeProvider time)
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
        string sha;
        long size;
        Dictionary<string, long> counts;
        var tables = TableSelection.Resolve(connection, job.Tables, job.Database.Path);
        (sha, size, counts) = await DumpAsync(connection, tables, stored.Path, codec, SnapshotBackup.Stage(progress, "dump"), cancellationToken).ConfigureAwait(false);

        // End the read transaction (and drop a rollback-journal copy) before the long part.
        connection.Dispose();
        copy.Dispose();
        using (var scratch = TempFile.For(job.Folder, name, "verify"))
        {
            var (loadedSha, loaded) = await Task.Run(() => DumpLoad.Into(stored.Path, scratch.Path, codec, SnapshotBackup.Stage(progress, "verify"), cancellationToken), cancellationToken).ConfigureAwait(false);
            var problem = loadedSha != sha ? "the stored file changed while it was being verified"
                : Inspection.CompareCounts(loaded, counts, "the dump").FirstOrDefault();
            if (problem is not null)
            {
                throw new CellarException($"verification failed: {problem}; backup not kept");
            }
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
            JournalMode = source.JournalMode,
            RowCounts = new SortedDictionary<string, long>(counts, StringComparer.Ordinal),
            Sha256 = sha,
            SizeBytes = size,
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
        var info = await SqliteSnapshot.CopyAsync(path, copyPath, time, SnapshotBackup.Stage(progress, "snapshot"), cancellationToken).ConfigureAwait(false);
        return new Snapshot(SqliteFiles.OpenImmutable(copyPath), info.JournalMode, info.Taken, info.WritersHeldOff);
    }

    private static async Task<(string Sha, long Size, Dictionary<string, long> Counts)> DumpAsync(
        SqliteConnection connection, IReadOnlyList<string> tables, string storedPath, Codec codec, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeBytes, resumeWriterThreshold: PipeBytes / 2, useSynchronizationContext: false));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var dumping = Task.Run(() =>
        {
            try
            {
                using var sql = pipe.Writer.AsStream();
                return TableDump.Write(connection, tables, sql, progress, stop.Token);
            }
            catch (Exception e)
            {
                pipe.Writer.Complete(e);
                throw;
            }
        }, CancellationToken.None);

        try
        {
            await using var sql = pipe.Reader.AsStream();
            var (sha, size) = await CompressedFile.WriteAsync(sql, storedPath, codec, null, cancellationToken).ConfigureAwait(false);
            return (sha, size, await dumping.ConfigureAwait(false));
        }
        catch
        {
            // The dump must stop reading through the connection before the caller closes it; its own error, if it
            // had one, is what the compressor saw and rethrows.
            await stop.CancelAsync().ConfigureAwait(false);
            await dumping.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }
    }

    private sealed record Snapshot(SqliteConnection Connection, string JournalMode, DateTimeOffset Taken, TimeSpan? WritersHeldOff);
}

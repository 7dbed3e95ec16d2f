using System.IO.Pipelines;
using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Progress;
using Cellar.Core.Snapshots;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Dumps;

/// <summary>
/// What a table dump hands the <see cref="ArtifactWriter"/>: all listed tables from one consistent view, streamed once as
/// SQL to the compressor, proven as every artifact's blocks are (each decompressed to exactly the SQL that went in),
/// with every byte of the SQL counted in. The load drill (the SQL run
/// into an empty database, every table counted) is the full check, which follows once the dump is published; with the
/// job's <see cref="JobConfig.FullCheck"/> inline, the SQL streams to a loader as well, so the drill runs while the dump
/// is written, on the other core, and its counts must match before the name.
/// </summary>
internal sealed class DumpSource(TablesJob job, TimeProvider time, ILogger? notices, IProgress<JobProgress>? progress) : ArtifactSource
{
    // The SQL text between the dump and the compressor: enough to keep both busy, small enough to stay flat.
    private const long PipeBytes = 8 << 20;

    private readonly TempFile _copy = TempFile.For(job.Folder, job.Name, "db");
    private TempFile? _scratch;
    private View? _view;
    private IReadOnlyList<string> _tables = [];
    private Outcome? _outcome;

    /// <inheritdoc/>
    public override ArtifactKind Kind => DumpKind.Instance;

    /// <inheritdoc/>
    public override async Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken)
    {
        _view = await OpenViewAsync(job.Database.Path, _copy.Path, cancellationToken).ConfigureAwait(false);
        try
        {
            _tables = TableSelection.Resolve(_view.Connection, job.Tables, job.Database.Path);
        }
        catch (TableSelectionException e)
        {
            // A schema that drifted since the config was written (a renamed table) fails this job's run, naming the
            // entry to fix; the config itself stays valid, so every other job and command goes on.
            throw new CellarException($"{job.Key}:tables:{e.Index}: {e.Message}", e);
        }

        return _view.Taken;
    }

    /// <inheritdoc/>
    public override async Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken)
    {
        _scratch = Inline ? target.Scratch("verify") : null;
        _outcome = await DumpAsync(_view!.Connection, target, _scratch?.Path, cancellationToken).ConfigureAwait(false);
        return (_outcome.StoredSha, _outcome.StoredBytes);
    }

    /// <summary>Every loaded table (inline) must hold the rows dumped, and every byte of the SQL must be in the stored file.</summary>
    public override Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken)
    {
        // The connection (and a rollback-journal copy) is no longer needed.
        Release();
        var outcome = _outcome!;
        return Task.FromResult((outcome.Loaded is { } loaded ? Inspection.CompareCounts(loaded, outcome.Dumped, "the dump").FirstOrDefault() : null)
            ?? target.Shortfall(outcome.TextBytes, "SQL"));
    }

    /// <inheritdoc/>
    public override Sidecar Describe(Sidecar common)
    {
        var outcome = _outcome!;
        return common with
        {
            SourceBytes = outcome.TextBytes, // the SQL's length: a check stops decompressing there
            JournalMode = _view!.JournalMode,
            RowCounts = new SortedDictionary<string, long>(outcome.Dumped, StringComparer.Ordinal),
            WritersHeldOffMs = _view.WritersHeldOff is { } held ? (long)held.TotalMilliseconds : null,
            Stage = Inline ? null : 1,
        };
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        Release();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private bool Inline => job.FullCheck == FullCheck.Inline;

    private void Release()
    {
        _view?.Connection.Dispose();
        _copy.Dispose();
        _scratch?.Dispose();
    }

    /// <summary>
    /// One consistent view of the database. In WAL mode a read transaction on the live file, which blocks nobody;
    /// in rollback-journal mode such a transaction would hold writers off for the whole dump, so the file is first
    /// copied (holding them off only for the page copy) and the copy is dumped.
    /// </summary>
    private async Task<View> OpenViewAsync(string path, string copyPath, CancellationToken cancellationToken)
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
                return new View(live, "wal", time.GetUtcNow(), null);
            }
        }
        catch
        {
            live.Dispose();
            throw;
        }

        live.Dispose();
        var info = await SqliteSnapshot.CopyAsync(path, copyPath, time, SnapshotSource.Stage(progress, "snapshot"), notices, cancellationToken).ConfigureAwait(false);
        return new View(SqliteFiles.OpenImmutable(copyPath), info.JournalMode, info.Taken, info.WritersHeldOff);
    }

    /// <summary>
    /// Streams the dump, once, to the compressor and, given <paramref name="scratchPath"/>, to a loader running it into
    /// that empty scratch database: the restore drill happens while the dump is written, on the other core, instead of
    /// after it.
    /// </summary>
    private async Task<Outcome> DumpAsync(SqliteConnection connection, ArtifactTarget target, string? scratchPath, CancellationToken cancellationToken)
    {
        var dumpProgress = SnapshotSource.Stage(progress, "dump");
        var tables = _tables;
        var toCompressor = NewPipe();
        var toLoader = scratchPath is null ? null : NewPipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var text = new CountingStream(toLoader is null ? toCompressor.Writer.AsStream() : new TeeStream(toCompressor.Writer.AsStream(), toLoader.Writer.AsStream()));
        // Both run synchronous SQLite work for the whole dump: threads of their own, not borrowed pool threads.
        var dumping = OwnThread.Run(() =>
        {
            try
            {
                var counts = TableDump.Write(connection, tables, text, dumpProgress, stop.Token);
                var written = (Counts: counts, text.Bytes);
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
                toLoader?.Writer.Complete(e);
                throw;
            }
        }, CancellationToken.None);
        var loading = toLoader is null ? Task.FromResult<IReadOnlyDictionary<string, long>?>(null) : OwnThread.Run<IReadOnlyDictionary<string, long>?>(() =>
        {
            using var sql = toLoader.Reader.AsStream();
            using var scratch = DumpLoad.OpenScratch(scratchPath!);
            SqlScript.Run(sql, scratch, null, stop.Token);
            return Inspection.CountRows(scratch);
        }, CancellationToken.None);
        var compressing = CompressAsync(toCompressor.Reader, target, stop.Token);

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
        return new Outcome(written.Counts, await loading.ConfigureAwait(false), written.Bytes, storedSha, storedBytes);
    }

    private static async Task<(string Sha, long Size)> CompressAsync(PipeReader sql, ArtifactTarget target, CancellationToken cancellationToken)
    {
        await using var input = sql.AsStream();
        return await target.WriteAsync(input, null, cancellationToken).ConfigureAwait(false);
    }

    private static Pipe NewPipe() => new(new PipeOptions(pauseWriterThreshold: PipeBytes, resumeWriterThreshold: PipeBytes / 2, useSynchronizationContext: false));

    private sealed record Outcome(Dictionary<string, long> Dumped, IReadOnlyDictionary<string, long>? Loaded, long TextBytes, string StoredSha, long StoredBytes);

    private sealed record View(SqliteConnection Connection, string JournalMode, DateTimeOffset Taken, TimeSpan? WritersHeldOff);
}

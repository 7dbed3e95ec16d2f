using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Progress;
using Cellar.Core.Sqlite;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Snapshots;

/// <summary>
/// What a snapshot backup hands the <see cref="ArtifactWriter"/>: the database as one read transaction sees it, read
/// where it lies in WAL mode (<see cref="InPlaceSnapshot"/>) or else copied under that transaction into a hidden temp
/// file, inspected while it is compressed, and proven as every artifact's blocks are (each one decompressed and compared
/// with the snapshot's bytes as it is made), with every byte of the snapshot counted in. The inspection is the quick one (<c>quick_check</c>, row counts), the full check
/// following once the backup is published, unless the job's <see cref="JobConfig.FullCheck"/> is inline (then
/// <c>integrity_check</c> and <c>foreign_key_check</c> too, before the name). A stream's base image takes its copy
/// its own way (<paramref name="take"/>: the pages as the stream's read transaction sees them) and is stored and proven
/// by the same steps.
/// </summary>
internal sealed class SnapshotSource(JobConfig job, TimeProvider time, ILogger? notices, IProgress<JobProgress>? progress, Func<string, CancellationToken, Task<SnapshotInfo>>? take = null) : ArtifactSource
{
    private readonly TempFile _copy = TempFile.For(job.Folder, job.Name, "db");
    private InPlaceSnapshot? _inPlace;
    private SnapshotInfo? _snapshot;
    private Task<Inspection>? _inspecting;
    private Inspection? _inspection;

    /// <inheritdoc/>
    public override ArtifactKind Kind => SnapshotKind.Instance;

    /// <summary>
    /// A WAL-mode database is read where it lies (<see cref="InPlaceSnapshot"/>) when it can be; otherwise it is copied.
    /// </summary>
    public override async Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken)
    {
        if (take is not null)
        {
            _snapshot = await take(_copy.Path, cancellationToken).ConfigureAwait(false);
        }
        else if (InPlaceSnapshot.TryTake(job.Database.Path, time, notices, cancellationToken) is { } inPlace)
        {
            _inPlace = inPlace;
            _snapshot = inPlace.Info;
            Stage(progress, "snapshot")?.Report(1);
        }
        else
        {
            _snapshot = await SqliteSnapshot.CopyAsync(job.Database.Path, _copy.Path, time, Stage(progress, "snapshot"), notices, cancellationToken).ConfigureAwait(false);
        }

        CrashPoint.Reach(CrashPoint.SnapshotCopied, cancellationToken);
        return _snapshot.Taken;
    }

    /// <summary>
    /// The snapshot is inspected while it is compressed: the two read the same pages and together keep every core busy.
    /// </summary>
    public override async Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken)
    {
        var compress = Stage(progress, "compress");
        var total = _snapshot!.Bytes;
        var read = compress is null ? null : new InlineProgress<long>(n => compress.Report(total == 0 ? 1 : (double)n / total));
        if (_inPlace is { } inPlace)
        {
            _inspecting = OwnThread.Run(() => inPlace.Inspect(quick: !Inline, cancellationToken), cancellationToken);
            return await target.WriteAsync((output, token) => inPlace.Image.Read((_, block) => output.Write(block.Span), token), read, cancellationToken).ConfigureAwait(false);
        }

        _inspecting = OwnThread.Run(() => Inspection.Of(_copy.Path, cancellationToken, quick: !Inline), cancellationToken);
        await using var input = new FileStream(_copy.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return await target.WriteAsync(input, read, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every byte of the snapshot must have gone into the stored file, whose blocks were each proven to decompress to
    /// what went in; then the inspection must have found the snapshot sound. A damaged snapshot means a damaged live
    /// database, said in those words.
    /// </summary>
    public override async Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken)
    {
        if (target.Shortfall(_snapshot!.Bytes, "the snapshot") is { } problem)
        {
            return problem;
        }

        _inspection = await _inspecting!.ConfigureAwait(false);
        if (_inspection.Integrity != "ok")
        {
            throw new CellarException($"snapshot of {job.Database.Path} fails {(Inline ? "integrity_check" : "quick_check")} ({_inspection.Integrity}); the live database may be damaged, backup not kept");
        }

        return null;
    }

    /// <inheritdoc/>
    public override Sidecar Describe(Sidecar common)
    {
        var snapshot = _snapshot!;
        var inspection = _inspection!;
        return common with
        {
            SourcePageSize = snapshot.PageSize,
            SourcePageCount = snapshot.PageCount,
            SourceBytes = snapshot.Bytes,
            JournalMode = snapshot.JournalMode,
            RowCounts = inspection.RowCounts,
            ForeignKeyViolations = inspection.ForeignKeyViolations,
            Stage = Inline ? null : 1,
            WritersHeldOffMs = snapshot.WritersHeldOff is { } held ? (long)held.TotalMilliseconds : null,
        };
    }

    private bool Inline => job.FullCheck == FullCheck.Inline;

    /// <summary>
    /// Never leaves the inspection reading a copy that is about to be deleted, or a connection about to be closed; the
    /// first error is the one reported. Ends the read transactions of a snapshot read in place.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        if (_inspecting is { } inspecting)
        {
            await inspecting.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
        }

        _inPlace?.Dispose();
        _copy.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Reports one stage of a run as a fraction, or nothing when nobody listens.</summary>
    internal static IProgress<double>? Stage(IProgress<JobProgress>? progress, string stage) =>
        progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress(stage, f)));
}

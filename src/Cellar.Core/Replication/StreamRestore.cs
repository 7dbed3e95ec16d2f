using Cellar.Core.Artifacts;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Sqlite;
using System.Threading.Channels;

namespace Cellar.Core.Replication;

/// <summary>
/// Builds the database as it stood at a moment of a stream: the newest base image at or before it, rebuilt from its
/// chain with every file checked against its sidecar, then every transaction after it that Cellar saw committed at or before the moment, applied page
/// by page (each record's checksum checked before any of its pages is written), the file cut to the size the last one
/// recorded, and SQLite's check on the result. Without a moment: everything shipped so far. Every byte of the result is
/// proven by hashes recorded as it was shipped to be what the app had, so a restore asks SQLite only whether the file is
/// well formed (<c>quick_check</c>, linear in its size); the drill, which stands for the app's data as well, runs the
/// full <c>integrity_check</c>.
/// </summary>
internal static class StreamRestore
{
    /// <summary>How many MiB of records are read ahead of the writes (each holds its pages in memory); one larger record alone goes through.</summary>
    private const int MiBAhead = 32;

    /// <summary>The point a restore of <paramref name="job"/> at <paramref name="at"/> (null: the newest) means: a generation and its base.</summary>
    public static (Generation Generation, StreamBaseImage Base) Choose(StreamJob job, DateTimeOffset? at)
    {
        var generations = Generation.List(job.Folder);
        for (var i = generations.Count - 1; i >= 0; i--)
        {
            var bases = StreamHistory.StartingPoints(generations[i]);
            var chosen = at is { } until ? bases.LastOrDefault(b => b.Sidecar.Created <= until) : bases is [.., var newest] ? newest : null;
            if (chosen is not null)
            {
                return (generations[i], chosen);
            }
        }

        throw at is null
            ? new CellarException($"stream job '{job.Name}' has nothing restorable yet in {job.Folder} (no base image; is `cellar serve` running it?)")
            : new CellarException($"stream job '{job.Name}' holds nothing as old as {at:yyyy-MM-dd HH:mm:ss.fff zzz}");
    }

    /// <summary>
    /// Writes the database as of <paramref name="at"/> (null: the newest point) into <paramref name="expandedPath"/>, which
    /// the caller owns; returns the check's verdict, with the base's sidecar telling the point restored.
    /// </summary>
    public static Task<VerificationResult> BuildAsync(StreamJob job, DateTimeOffset? at, string expandedPath, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var (generation, image) = Choose(job, at);
        return BuildAsync(job, generation, image, record => at is not { } until || record.Committed <= until, expandedPath, fullCheck: false, progress, cancellationToken);
    }

    /// <summary>As <see cref="BuildAsync(StreamJob, DateTimeOffset?, string, IProgress{double}?, CancellationToken)"/>, to exactly transaction <paramref name="txid"/> of <paramref name="generation"/>.</summary>
    public static async Task<VerificationResult> BuildToAsync(StreamJob job, Generation generation, long txid, string expandedPath, CancellationToken cancellationToken)
    {
        var image = StreamHistory.StartingPoints(generation).LastOrDefault(b => b.Txid <= txid)
            ?? throw new CellarException($"generation {generation.Id} has no base at or before transaction {txid}");
        var result = await BuildAsync(job, generation, image, record => record.Txid <= txid, expandedPath, fullCheck: true, null, cancellationToken).ConfigureAwait(false);
        return !result.Ok || result.Sidecar!.Tag == $"{generation.Id}/{txid}" ? result
            : VerificationResult.Failed(result.Path, $"the stream ends at {result.Sidecar.Tag}, before transaction {txid}", result.Sidecar);
    }

    /// <summary>
    /// Writes the base's image: its chain (a whole base, and the page sets over it up to this one) read once, each file
    /// checked against its sidecar's SHA-256 and a page set's image against the hash it recorded. The database is
    /// checked by SQLite once, after the transactions are applied: checking the base's image too would read the whole
    /// database twice.
    /// </summary>
    private static async Task<VerificationResult> ExpandBaseAsync(Generation generation, StreamBaseImage image, string expandedPath, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var bases = StreamHistory.Bases(generation);
        try
        {
            var index = bases.ToList().FindIndex(b => b.Path == image.Path);
            if (index < 0)
            {
                throw new CellarException($"base {image.Path} is gone (retention removed it meanwhile); try again");
            }

            var chain = StreamBaseImage.Chain(bases, index, b => b.Full);
            var expanded = await OwnThread.Run(() => BaseChain.Expand(chain, generation.Manifest.PageSize, expandedPath, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new VerificationResult(image.Path, [], image.Sidecar) { Expanded = expanded };
        }
        catch (CellarException e)
        {
            return VerificationResult.Failed(image.Path, e.Message, image.Sidecar);
        }
    }

    /// <summary>
    /// The bytes <paramref name="page"/> of <paramref name="record"/> leaves in the image: the page itself, or its
    /// change applied to the page there now (read into <paramref name="before"/>, rebuilt into <paramref name="made"/>),
    /// which must make the page its check names; otherwise the change was made over another version than this restore
    /// holds, and nothing of it is written.
    /// </summary>
    private static ReadOnlySpan<byte> Made(FileStream file, StreamRecord record, RecordPage page, PageDelta delta, byte[] before, byte[] made)
    {
        if (page.Check is not { } check)
        {
            return page.Data.Span;
        }

        if (RandomAccess.Read(file.SafeFileHandle, before, (long)(page.Number - 1) * before.Length) != before.Length)
        {
            throw new CellarException($"transaction {record.Txid} changes page {page.Number} from the version before it, which the restored database does not hold");
        }

        try
        {
            delta.Decode(page.Data.Span, before, made);
        }
        catch (InvalidDataException e)
        {
            throw new CellarException($"transaction {record.Txid}: page {page.Number} does not decode ({e.Message}); the stream is damaged from there", e);
        }

        if (StreamRecord.Check(made) != check)
        {
            throw new CellarException($"transaction {record.Txid} changes page {page.Number} from a version other than the one this restore holds; the stream is damaged from there");
        }

        return made;
    }

    /// <summary>
    /// Writes the pages of every transaction after <paramref name="image"/> that is <paramref name="wanted"/> into the
    /// expanded base, cuts the file to the size the last one recorded and fsyncs it; returns the last one's number and
    /// commit time (the base's when none is). The records are read, decompressed and checked on one core while the
    /// other writes their pages.
    /// </summary>
    private static async Task<(long Txid, DateTimeOffset Committed)> ApplyAsync(Generation generation, StreamBaseImage image, Func<StreamRecord, bool> wanted, string expandedPath, CancellationToken cancellationToken)
    {
        var pageSize = generation.Manifest.PageSize;
        var (txid, committed) = (image.Txid, image.Sidecar.Created);
        var records = Channel.CreateUnbounded<(StreamRecord Record, int MiB)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var room = new SemaphoreSlim(MiBAhead, MiBAhead);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = Task.Run(() => ReadRecordsAsync(generation, image.Txid, wanted, records.Writer, room, stop.Token), stop.Token);
        try
        {
            using var file = new FileStream(expandedPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            uint? pages = null;
            var (before, made) = (new byte[pageSize], new byte[pageSize]);
            using var delta = new PageDelta();
            await foreach (var (record, mib) in records.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var page in record.Pages)
                {
                    RandomAccess.Write(file.SafeFileHandle, Made(file, record, page, delta, before, made), (long)(page.Number - 1) * pageSize);
                }

                (pages, txid, committed) = (record.DatabasePages, record.Txid, record.Committed);
                room.Release(mib);
            }

            if (pages is { } count)
            {
                file.SetLength((long)count * pageSize);
            }

            Fsync.File(file);
            return (txid, committed);
        }
        finally
        {
            // A write that failed leaves the reader waiting for room: it stops here, and is waited for.
            await stop.CancelAsync().ConfigureAwait(false);
            await reading.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The stream's records after <paramref name="txid"/> that are <paramref name="wanted"/>, into <paramref name="records"/>,
    /// each once <paramref name="room"/> has its size in MiB (at most all of it); a problem completes the channel with it.
    /// </summary>
    private static async Task ReadRecordsAsync(Generation generation, long txid, Func<StreamRecord, bool> wanted, ChannelWriter<(StreamRecord, int)> records, SemaphoreSlim room, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var record in StreamHistory.After(generation, txid))
            {
                if (!wanted(record))
                {
                    break;
                }

                var mib = (int)Math.Clamp(record.Pages.Sum(p => (long)p.Data.Length) >> 20, 1, MiBAhead);
                for (var i = 0; i < mib; i++)
                {
                    await room.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                records.TryWrite((record, mib));
            }

            records.Complete();
        }
        catch (Exception e)
        {
            records.Complete(e);
        }
    }

    private static async Task<VerificationResult> BuildAsync(
        StreamJob job, Generation generation, StreamBaseImage image, Func<StreamRecord, bool> wanted, string expandedPath, bool fullCheck, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var shown = $"stream {job.Name}, generation {generation.Id}";
        var result = await ExpandBaseAsync(generation, image, expandedPath, progress, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            return result;
        }

        long txid;
        DateTimeOffset committed;
        try
        {
            (txid, committed) = await ApplyAsync(generation, image, wanted, expandedPath, cancellationToken).ConfigureAwait(false);
        }
        catch (CellarException e)
        {
            return VerificationResult.Failed(shown, e.Message, image.Sidecar);
        }

        var inspection = Inspection.Of(expandedPath, cancellationToken, quick: !fullCheck);
        var point = image.Sidecar with { Kind = null, Created = committed, RowCounts = inspection.RowCounts, Tag = $"{generation.Id}/{txid}" };
        return inspection.Integrity == "ok"
            ? result with { Path = shown, Sidecar = point }
            : VerificationResult.Failed(shown, $"the database rebuilt to transaction {txid} fails {(fullCheck ? "integrity_check" : "quick_check")} ({inspection.Integrity})", point);
    }
}

using Cellar.Core.Artifacts;
using Cellar.Core.Configuration;
using Cellar.Core.Snapshots;
using Cellar.Core.Wal;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// Base images: the first of a generation, and one on the job's schedule (daily unless configured), so a restore
/// replays at most a day of transactions and retention can let go of what came before. Each is pinned with writers
/// held off for a moment, so a read transaction of its own sees exactly the shipped position; a scheduled one is then
/// written beside the follower, which goes on shipping (WalFollower.Background.cs). A scheduled base is stored as the pages that changed since the base
/// before it (a page set) while its chain is short, else whole; each is stored and proven by the artifact path.
/// </summary>
internal sealed partial class WalFollower
{
    /// <summary>
    /// How many page sets may follow a full base before the next base is whole again: a restore reads one full base and
    /// at most this many page sets, and retention keeps a chain whole.
    /// </summary>
    internal const int PageSetsPerFullBase = 6;

    /// <summary>When a base that failed is tried again.</summary>
    private static readonly TimeSpan BaseRetry = TimeSpan.FromMinutes(5);
    private static readonly FileNamePattern PageSetName = FileNamePattern.Parse("base-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.pages", ".zst");

    private DateTimeOffset? _nextBase;

    private bool DueForBase()
    {
        if (job.Schedule is not { } schedule || _generation is null || BaseHeld)
        {
            return false;
        }

        _nextBase ??= schedule.GetNextOccurrence(StreamHistory.Bases(_generation) is [.., var newest] ? newest.Sidecar.Created : time.GetUtcNow(), zone);
        return _nextBase is { } next && time.GetUtcNow() >= next;
    }

    /// <summary>
    /// Pins a new base of the current generation at the transaction shipped last, with a read transaction of its own
    /// holding that moment, and writes it beside the follower, which ships on meanwhile (without checkpoints that
    /// would wait for that reader).
    /// </summary>
    private void StartBase(CancellationToken cancellationToken)
    {
        if (StreamHistory.Bases(_generation!) is [.., var newest] && newest.Txid == _txid && _journal!.Records.Count == 0)
        {
            // Nothing committed since the newest base: it is still the database's image, and a second base at the same
            // transaction would only cost a copy.
            _nextBase = job.Schedule!.GetNextOccurrence(time.GetUtcNow(), zone);
            return;
        }

        if (BackgroundBusy)
        {
            // Segments being merged give way to the base: the merge stops where it is and is made again later.
            _backgroundCancel!.Cancel();
            CollectBackground(wait: true);
        }

        var live = _live!;
        var (pinned, hold) = live.WithWritersHeld(() =>
        {
            Ship();
            live.RefreshRead();
            var image = Pin(_position);
            return (image, live.HoldForBase());
        }, cancellationToken);

        _endKnown = true;
        var (generation, txid) = (_generation!, _txid);
        StartBackground(
            "a new base",
            token => WriteBaseAsync(generation, txid, pinned, token),
            hold,
            done: () =>
            {
                _nextBase = null;
                foreach (var removed in StreamRetention.Prune(job, time.GetUtcNow()))
                {
                    LogPruned(logger, job.Name, removed);
                }
            },
            failed: () => _nextBase = time.GetUtcNow() + BaseRetry,
            cancellationToken);
    }

    /// <summary>What the read transaction sees now that it was moved up to <paramref name="position"/> with writers held.</summary>
    private BaseImage Pin(WalPosition position) => BaseImage.Pin(_live!, position, time.GetUtcNow()).Image;

    /// <summary>
    /// Writes <paramref name="image"/> into <paramref name="generation"/> as the state after <paramref name="txid"/>: as a
    /// page set over the newest base's chain while that is short (<see cref="ParentChain"/>), else whole. A page set
    /// that cannot be made (its chain damaged) gives way to a whole base. When the WAL restarted under the image while it
    /// was read, it is read again from the file alone.
    /// </summary>
    private async Task WriteBaseAsync(Generation generation, long txid, BaseImage image, CancellationToken cancellationToken)
    {
        try
        {
            await WriteImageAsync(generation, txid, image, cancellationToken).ConfigureAwait(false);
        }
        catch (OverlayLost)
        {
            await WriteImageAsync(generation, txid, image.FileAlone(), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteImageAsync(Generation generation, long txid, BaseImage image, CancellationToken cancellationToken)
    {
        var writer = new ArtifactWriter(time);
        var tag = Generation.BaseTag(txid);
        if (ParentChain(StreamHistory.Bases(generation)) is { } parent)
        {
            try
            {
                await using var pages = new PageSetSource(image, parent, txid);
                await writer.WriteAsync(job with { Folder = generation.Folder, FileName = PageSetName }, TimeZoneInfo.Utc, tag, pages, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (CellarException e) when (e is not OverlayLost)
            {
                LogWholeInstead(logger, job.Name, e.Message);
            }
        }

        // Proven whole before it is named: the drill and every restore build on it, and the daily pass checks no stream's bases.
        var baseJob = job with { Folder = generation.Folder, FullCheck = FullCheck.Inline };
        await using var source = new SnapshotSource(baseJob, time, logger, null, async (copyPath, token) =>
        {
            await image.CopyAsync(copyPath, token).ConfigureAwait(false);
            return new SnapshotInfo(image.PageSize, image.Pages, "wal", null, image.Taken);
        });
        await writer.WriteAsync(baseJob, TimeZoneInfo.Utc, tag, source, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The chain a new page set would go over: the newest base's, while it holds fewer than
    /// <see cref="PageSetsPerFullBase"/> page sets and they add up to less than half its full base; else null (whole).
    /// </summary>
    private static IReadOnlyList<StreamBaseImage>? ParentChain(IReadOnlyList<StreamBaseImage> bases)
    {
        if (bases.Count == 0)
        {
            return null;
        }

        IReadOnlyList<StreamBaseImage> chain;
        try
        {
            chain = StreamBaseImage.Chain(bases, bases.Count - 1, b => b.Full);
        }
        catch (CellarException)
        {
            return null;
        }

        return chain.Count - 1 < PageSetsPerFullBase && chain.Skip(1).Sum(s => s.Sidecar.SizeBytes) < chain[0].Sidecar.SizeBytes / 2 ? chain : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Job}: retention removed {Removed}")]
    private static partial void LogPruned(ILogger logger, string job, string removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream {Job}: a base of changed pages could not be made ({Error}); storing the whole image instead")]
    private static partial void LogWholeInstead(ILogger logger, string job, string error);
}

using Cellar.Core.Artifacts;
using Cellar.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// Base images: the first of a generation, and one on the job's schedule (daily unless configured), so a restore
/// replays at most a day of transactions and retention can let go of what came before. Each is taken with writers
/// held off for a moment, so the read transaction sees exactly the shipped position, then copied while the app writes
/// on, and stored and proven by the snapshot path.
/// </summary>
internal sealed partial class WalFollower
{
    private DateTimeOffset? _nextBase;

    private bool DueForBase()
    {
        if (job.Schedule is not { } schedule || _generation is null)
        {
            return false;
        }

        _nextBase ??= schedule.GetNextOccurrence(StreamHistory.Bases(_generation) is [.., var newest] ? newest.Sidecar.Created : time.GetUtcNow(), zone);
        return _nextBase is { } next && time.GetUtcNow() >= next;
    }

    /// <summary>A new base of the current generation at the transaction shipped last; then what retention lets go.</summary>
    private async Task TakeBaseAsync(CancellationToken cancellationToken)
    {
        var live = _live!;
        var pinned = live.WithWritersHeld(() =>
        {
            Ship();
            live.RefreshRead();
            return Pin(_position);
        });

        _endKnown = true;
        await WriteBaseAsync(_generation!, _txid, pinned, cancellationToken).ConfigureAwait(false);
        _nextBase = null;
        foreach (var removed in StreamRetention.Prune(job, time.GetUtcNow()))
        {
            LogPruned(logger, job.Name, removed);
        }
    }

    /// <summary>What the read transaction sees now that it was moved up to <paramref name="position"/> with writers held.</summary>
    private BaseImage Pin(WalPosition position) => BaseImage.Pin(_live!, position, time.GetUtcNow()).Image;

    /// <summary>Writes <paramref name="image"/> into <paramref name="generation"/> as the state after <paramref name="txid"/>.</summary>
    private async Task WriteBaseAsync(Generation generation, long txid, BaseImage image, CancellationToken cancellationToken)
    {
        var baseJob = job with { Folder = generation.Folder };
        await using var source = new SnapshotSource(baseJob, time, logger, null, image.CopyAsync);
        await new ArtifactWriter(time).WriteAsync(baseJob, TimeZoneInfo.Utc, Generation.BaseTag(txid), source, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Job}: retention removed {Removed}")]
    private static partial void LogPruned(ILogger logger, string job, string removed);
}

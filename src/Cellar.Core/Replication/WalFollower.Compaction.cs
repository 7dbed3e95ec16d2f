using Cellar.Core.IO;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// The follower's share of compaction: every <see cref="CompactionInterval"/>, the current generation's sealed
/// segments are merged beside it (<see cref="StreamCompaction"/>), the newest left as they were sealed.
/// </summary>
internal sealed partial class WalFollower
{
    /// <summary>How often the follower merges sealed segments.</summary>
    internal static readonly TimeSpan CompactionInterval = TimeSpan.FromMinutes(10);

    private DateTimeOffset? _nextCompaction;

    private bool DueForCompaction()
    {
        if (_generation is null || BackgroundBusy)
        {
            return false;
        }

        _nextCompaction ??= time.GetUtcNow() + CompactionInterval;
        return time.GetUtcNow() >= _nextCompaction;
    }

    private void StartCompaction(CancellationToken cancellationToken)
    {
        var generation = _generation!;
        (int Written, int Replaced, IReadOnlyList<string> Problems) merged = (0, 0, []);
        StartBackground(
            "merging sealed segments",
            token => OwnThread.Run(() => merged = StreamCompaction.Compact(generation, token), token),
            hold: null,
            done: () =>
            {
                _nextCompaction = null;
                if (merged.Replaced > 0)
                {
                    LogCompacted(logger, job.Name, merged.Replaced, merged.Written);
                }

                foreach (var problem in merged.Problems)
                {
                    LogNotMerged(logger, job.Name, problem);
                }
            },
            failed: () => _nextCompaction = null,
            cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "stream {Job}: {Replaced} sealed segments merged into {Written}")]
    private static partial void LogCompacted(ILogger logger, string job, int replaced, int written);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream {Job}: {Problem}")]
    private static partial void LogNotMerged(ILogger logger, string job, string problem);
}

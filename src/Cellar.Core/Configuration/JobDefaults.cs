using Cellar.Core.Compression;

namespace Cellar.Core.Configuration;

/// <summary>
/// What a job gets for each setting its config leaves out, and the bounds its settings must keep: written once, read by
/// the validator and by <see cref="JobConfig"/>'s own defaults. The seed's schedules and folders are in <see cref="SeedDefaults"/>.
/// </summary>
public static class JobDefaults
{
    /// <summary>Backups older than this many days are pruned (the seed's retention).</summary>
    public const int KeepDays = 30;

    /// <summary>The newest this many verified backups are kept whatever their age: the last good backup is never deleted.</summary>
    public const int KeepAtLeast = 3;

    /// <summary>
    /// A backup's full check runs after it is published unless configured: a 1 GB snapshot's <c>integrity_check</c> is
    /// most of the run's time on two cores, and the quick proof before publishing already shows every byte is the app's.
    /// </summary>
    public const FullCheck FullCheck = Configuration.FullCheck.Deferred;

    /// <summary>The most <see cref="KeepDays"/> may be: a hundred years.</summary>
    public const int MaxKeepDays = 36500;

    /// <summary>How backups are compressed: gzip, as the seed's were, readable with any zcat.</summary>
    public const CompressionKind Compression = CompressionKind.Gzip;

    /// <summary>The daemon runs a job whose last occurrence it missed once at start (anacron-style).</summary>
    public const bool CatchUp = true;

    /// <summary>The smallest <c>maxBytes</c> a rotate job may set: below a page, a log would rotate at every line.</summary>
    public const long MinMaxBytes = 4096;

    /// <summary>SIGHUP: what makes most servers reopen their log, as logrotate's postrotate scripts send.</summary>
    public const int ReopenSignal = 1;

    /// <summary>A stream job seals its journal into a segment at least this often: few files, each a few seconds of history.</summary>
    public static readonly TimeSpan StreamSegmentInterval = TimeSpan.FromSeconds(10);

    /// <summary>... or once the journal holds this much.</summary>
    public const long StreamSegmentBytes = 16 << 20;

    /// <summary>
    /// How often a stream's new transactions go to each offsite destination: one PUT per interval while the app writes
    /// (4,500 an hour), none while it does not. A server lost at a random moment costs the destination half an interval
    /// of the app's writes on average, plus a step and a PUT: at this interval less than Litestream's one-second sync
    /// loses, with fewer requests than it makes (docs/BENCHMARKS.md, "Continuous replication").
    /// </summary>
    public static readonly TimeSpan StreamOffsiteInterval = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// A stream job checkpoints the WAL once it holds SQLite's own autocheckpoint size (<see cref="StreamCheckpointFrames"/>)
    /// or this much, whichever comes first: the 64 MB bound it promises, for pages so large that 1000 of them exceed it.
    /// </summary>
    public const long StreamCheckpointBytes = 64L << 20;

    /// <summary>
    /// SQLite's default autocheckpoint: 1000 frames. Past it every commit of the app runs a checkpoint of its own, which
    /// the stream's reader keeps from finishing, so each one sorts the whole WAL again: measured at 500 tx/s, the app's
    /// commit p99 was 0.80-0.83 ms checkpointing at 4 MiB and 0.96-3.15 ms at 16 MiB (0.46-0.55 ms without Cellar).
    /// </summary>
    public const int StreamCheckpointFrames = 1000;

    /// <summary>A stream job keeps a week of history unless configured: a day is what Litestream keeps by default.</summary>
    public const int StreamKeepDays = 7;

    /// <summary>What a rotate job may do, in order, where the filesystem cannot collapse a file's head.</summary>
    public static IReadOnlyList<RotationMethod> Fallbacks { get; } = [RotationMethod.Signal, RotationMethod.CopyTruncate];
}

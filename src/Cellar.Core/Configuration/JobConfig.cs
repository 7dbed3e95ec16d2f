using System.Diagnostics.CodeAnalysis;
using Cellar.Core.Compression;
using Cronos;

namespace Cellar.Core.Configuration;

/// <summary>
/// One validated job: what every job has. Each type of job is a record of its own below, with the settings only it
/// uses (<see cref="SnapshotJob"/>, <see cref="TablesJob"/>, <see cref="RotateJob"/>), so code that needs a rotation's
/// settings takes a <see cref="RotateJob"/> and cannot be handed another.
/// </summary>
public abstract record JobConfig
{
    /// <summary>The job's name, e.g. <c>daily</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Where it is in the config (<c>jobs:social</c>, <c>databases:1:jobs:social</c>), for messages that point into the file.</summary>
    public string Key { get => field ?? $"jobs:{Name}"; init; }

    /// <summary>What it does.</summary>
    public abstract JobType Type { get; }

    /// <summary>The database it belongs to.</summary>
    public required DatabaseConfig Database { get; init; }

    /// <summary>When it runs; null for on-demand jobs.</summary>
    public CronSchedule? Schedule { get; init; }

    /// <summary>The schedule as written, for display.</summary>
    public string? ScheduleText { get; init; }

    /// <summary>A push-style heartbeat (healthchecks.io, Uptime Kuma) pinged after each success, <c>/fail</c> after a failure.</summary>
    public Uri? HeartbeatUrl { get; init; }

    /// <summary>A URL that receives a JSON POST for each failure.</summary>
    public Uri? WebhookUrl { get; init; }

    /// <summary>Whether the daemon runs the job once at start when its last scheduled occurrence was missed (anacron-style).</summary>
    public bool CatchUp { get; init; } = JobDefaults.CatchUp;

    /// <summary>Absolute folder its files go to.</summary>
    public required string Folder { get; init; }

    /// <summary>How its files are named (without the compression extension).</summary>
    public required FileNamePattern FileName { get; init; }

    /// <summary>Files older than this many days are pruned.</summary>
    public required int KeepDays { get; init; }

    /// <summary>The newest this many verified backups are kept whatever their age.</summary>
    public required int KeepAtLeast { get; init; }

    /// <summary>How files are compressed.</summary>
    public required CompressionKind Compression { get; init; }

    /// <summary>Compression level, or null for the format's default.</summary>
    public int? CompressionLevel { get; init; }

    /// <summary>When a snapshot's or a dump's full check runs (other jobs' proofs have one stage, before the name: inline).</summary>
    public FullCheck FullCheck { get; init; } = JobDefaults.FullCheck;

    /// <summary>The name to show: qualified with the database only when the config has several.</summary>
    public string QualifiedName(CellarConfig config) => config.Databases.Count > 1 ? $"{Database.Name}/{Name}" : Name;
}

/// <summary>A job that takes a consistent online snapshot of the whole database: only the common settings.</summary>
public sealed record SnapshotJob : JobConfig
{
    /// <inheritdoc/>
    public override JobType Type => JobType.Snapshot;
}

/// <summary>A job that dumps chosen tables as SQL.</summary>
public sealed record TablesJob : JobConfig
{
    /// <summary>A tables job with <paramref name="common"/>'s common settings.</summary>
    [SetsRequiredMembers]
    public TablesJob(JobConfig common)
        : base(common)
    {
    }

    /// <inheritdoc/>
    public override JobType Type => JobType.Tables;

    /// <summary>Tables (or glob patterns) it dumps.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];
}

/// <summary>A job that rotates application logs.</summary>
public sealed record RotateJob : JobConfig
{
    /// <summary>A rotate job with <paramref name="common"/>'s common settings.</summary>
    [SetsRequiredMembers]
    public RotateJob(JobConfig common)
        : base(common)
    {
    }

    /// <inheritdoc/>
    public override JobType Type => JobType.Rotate;

    /// <summary>Log files it rotates (absolute; the file name may be a glob).</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>Rotate a log early once it is larger than this (checked by the daemon); null for never.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>What it may do, in order, where the filesystem cannot collapse a file's head.</summary>
    public IReadOnlyList<RotationMethod> Fallbacks { get; init; } = JobDefaults.Fallbacks;

    /// <summary>For the signal method: the file holding the writer's pid.</summary>
    public string? PidFile { get; init; }

    /// <summary>For the signal method: the signal that makes the writer reopen its log (SIGHUP unless configured).</summary>
    public int ReopenSignal { get; init; } = JobDefaults.ReopenSignal;

    /// <summary>For the signal method: a URL to POST to instead of sending a signal.</summary>
    public Uri? ReopenUrl { get; init; }
}

/// <summary>
/// A job that follows the database's WAL continuously (<c>cellar serve</c>) and ships every committed transaction, so
/// the database restores to any moment of its window; its schedule is when it takes a new base image.
/// </summary>
public sealed record StreamJob : JobConfig
{
    /// <summary>A stream job with <paramref name="common"/>'s common settings.</summary>
    [SetsRequiredMembers]
    public StreamJob(JobConfig common)
        : base(common)
    {
    }

    /// <inheritdoc/>
    public override JobType Type => JobType.Stream;

    /// <summary>The journal is sealed into a segment at least this often.</summary>
    public TimeSpan SegmentInterval { get; init; } = JobDefaults.StreamSegmentInterval;

    /// <summary>The journal is sealed into a segment once it holds this many bytes.</summary>
    public long SegmentBytes { get; init; } = JobDefaults.StreamSegmentBytes;

    /// <summary>How often new transactions go to each offsite destination.</summary>
    public TimeSpan OffsiteInterval { get; init; } = JobDefaults.StreamOffsiteInterval;

    /// <summary>Cellar checkpoints the WAL itself (and lets it start over) once it holds this many bytes.</summary>
    public long CheckpointBytes { get; init; } = JobDefaults.StreamCheckpointBytes;
}

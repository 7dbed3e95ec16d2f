using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Logs;
using Cellar.Core.Offsite;
using Cellar.Core.Retention;

namespace Cellar.Core.Jobs;

/// <summary>
/// What one run of a job did, whatever its type: the one answer every caller reads (<c>cellar run</c>, the demo, the
/// daemon's API, metrics and alerts), so none of them re-reads a sidecar or re-stats a file to learn it.
/// </summary>
public sealed record JobOutcome
{
    /// <summary>The job that ran.</summary>
    public required JobConfig Job { get; init; }

    /// <summary>The run's tag, for jobs whose file names carry one.</summary>
    public string? Tag { get; init; }

    /// <summary>The files the run published, each with its sidecar: one backup or dump, or one archive per rotated log.</summary>
    public IReadOnlyList<StoredFile> Files { get; init; } = [];

    /// <summary>A rotate job's account of each log it names.</summary>
    public IReadOnlyList<LogOutcome> Logs { get; init; } = [];

    /// <summary>From taking the folder's lock to the end of retention.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>What retention did afterwards; null when it could not run (said in <see cref="Warnings"/>).</summary>
    public PruneResult? Prune { get; init; }

    /// <summary>What the run did not stop for but an operator should read (a log's warning, a retention problem).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>For a stream job's catch-up pass: what it shipped.</summary>
    public Replication.StreamPass? Stream { get; init; }

    /// <summary>The offsite copy made right after the run, when the pipeline has that step (<c>cellar run</c>); else empty.</summary>
    internal IReadOnlyList<SyncReport> Offsite { get; init; } = [];

    /// <summary>The last file the run published (the backup of a backup run); null when it published none.</summary>
    public string? Path => Files.Count > 0 ? Files[^1].Path : null;

    /// <summary>The sidecar of <see cref="Path"/>.</summary>
    public Sidecar? Sidecar => Files.Count > 0 ? Files[^1].Sidecar : null;
}

/// <summary>A file a run published under its final name, and the sidecar that proves it.</summary>
public sealed record StoredFile(string Path, Sidecar Sidecar);

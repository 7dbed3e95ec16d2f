using Cellar.Core.Storage;

namespace Cellar.Core.Configuration;

/// <summary>
/// One place a database's backups are copied to after they are verified: an S3-compatible bucket
/// (<see cref="S3"/>) or a folder (<see cref="FolderPath"/>), with its own retention.
/// </summary>
internal sealed record OffsiteDestination(string Name)
{
    /// <summary>The bucket, for an S3 destination.</summary>
    public S3Options? S3 { get; init; }

    /// <summary>The folder, for a local destination (a NAS mount, a second disk).</summary>
    public string? FolderPath { get; init; }

    /// <summary>Whether copies are encrypted (default: when a key is configured).</summary>
    public bool Encrypt { get; init; }

    /// <summary>
    /// False for <c>retention: none</c>: Cellar never deletes here, so its credentials may be write-only and the
    /// bucket's lifecycle rules do the expiry.
    /// </summary>
    public bool Prune { get; init; } = true;

    /// <summary>Days each job's copies are kept here, where they differ from the job's local <c>keepDays</c>.</summary>
    public IReadOnlyDictionary<string, int> KeepDays { get; init; } = new Dictionary<string, int>();

    /// <summary>The jobs whose backups go here; null for all.</summary>
    public IReadOnlySet<string>? Jobs { get; init; }

    /// <summary>True when <paramref name="job"/>'s backups are copied here.</summary>
    public bool Takes(JobConfig job) => Jobs is null || Jobs.Contains(job.Name);

    /// <summary>How long <paramref name="job"/>'s copies are kept here.</summary>
    public int KeepDaysFor(JobConfig job) => KeepDays.TryGetValue(job.Name, out var days) ? days : job.KeepDays;

    /// <summary>Where the destination points, for messages.</summary>
    public string Location => S3 is { } s3 ? $"s3://{s3.Bucket}/{s3.Prefix}" : FolderPath!;
}

namespace Cellar.Bench;

/// <summary>One timed run. <see cref="Seconds"/> is wall time; the optional parts break it down.</summary>
internal sealed record Sample(
    double Seconds,
    long? Bytes,
    long? SidecarMs = null,
    long? HeldOffMs = null,
    double? FirstPartSeconds = null,
    double? SecondPartSeconds = null)
{
    /// <summary>Peak resident memory of the measured process, where it was sampled.</summary>
    public long? PeakRssBytes { get; init; }

    /// <summary>User plus system CPU time of the measured process, where it was taken.</summary>
    public double? CpuSeconds { get; init; }
}

/// <summary>The runs of one row, or why it could not be measured.</summary>
internal sealed record Measurement(IReadOnlyList<Sample> Samples, string? Error)
{
    /// <summary>The run with the median wall time (the lower middle one for an even count).</summary>
    public Sample? Median => Samples.Count == 0 ? null : Samples.OrderBy(s => s.Seconds).ElementAt((Samples.Count - 1) / 2);

    public double? MinSeconds => Samples.Count == 0 ? null : Samples.Min(s => s.Seconds);

    public double? MaxSeconds => Samples.Count == 0 ? null : Samples.Max(s => s.Seconds);
}

/// <summary>Everything measured on one generated database.</summary>
internal sealed record SizeResult(
    int TargetMiB,
    long DbBytes,
    double GenerateSeconds,
    int Runs,
    Measurement Seed,
    Measurement CpFsync,
    Measurement GzipReference,
    Measurement ZstdReference,
    Measurement CellarGzip,
    Measurement CellarZstd,
    Measurement JitGzip,
    Measurement JitZstd,
    Measurement FullCheck,
    int SnapshotRuns,
    Measurement ApiCopy,
    Measurement Cp,
    Measurement CpFsyncForSnapshot,
    Measurement SeedBackupStep);

/// <summary>One row of the busy-database table.</summary>
internal sealed record BusyRow(
    string Journal,
    string Scenario,
    string Outcome,
    double? BackupSeconds,
    WriterStats? Writer,
    long? SidecarMs = null,
    long? HeldOffMs = null);

/// <summary>The busy-database scenario on one database.</summary>
internal sealed record BusyResult(int TargetMiB, long DbBytes, int Rate, IReadOnlyList<BusyRow> Rows, string? Error);

/// <summary>The table-dump comparison on one generated database.</summary>
internal sealed record DumpResult(int TargetMiB, long DbBytes, long SqlBytes, int Runs, Measurement Seed, Measurement CellarGzip, Measurement CellarZstd);

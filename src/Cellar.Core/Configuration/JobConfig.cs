using Cellar.Core.Compression;
using Cronos;

namespace Cellar.Core.Configuration;

/// <summary>One validated job.</summary>
public sealed record JobConfig
{
    /// <summary>The job's name, e.g. <c>daily</c>.</summary>
    public required string Name { get; init; }

    /// <summary>What it does.</summary>
    public required JobType Type { get; init; }

    /// <summary>The database it belongs to.</summary>
    public required DatabaseConfig Database { get; init; }

    /// <summary>When it runs; null for on-demand jobs.</summary>
    public CronExpression? Schedule { get; init; }

    /// <summary>The schedule as written, for display.</summary>
    public string? ScheduleText { get; init; }

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

    /// <summary>Tables (or glob patterns) a <see cref="JobType.Tables"/> job dumps.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    /// <summary>Log files a <see cref="JobType.Rotate"/> job rotates.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>The name to show: qualified with the database only when the config has several.</summary>
    public string QualifiedName(CellarConfig config) => config.Databases.Count > 1 ? $"{Database.Name}/{Name}" : Name;
}

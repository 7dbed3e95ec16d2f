namespace Cellar.Core.Configuration;

/// <summary>What a job does.</summary>
public enum JobType
{
    /// <summary>A consistent online copy of the whole database.</summary>
    Snapshot,

    /// <summary>An SQL dump of chosen tables.</summary>
    Tables,

    /// <summary>Rotation of an application log.</summary>
    Rotate,

    /// <summary>Continuous replication of the WAL, restorable to any moment.</summary>
    Stream,
}

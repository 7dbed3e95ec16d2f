namespace Cellar.Core.Snapshots;

/// <summary>What a snapshot copied.</summary>
/// <param name="PageSize">Page size in bytes.</param>
/// <param name="PageCount">Pages copied.</param>
/// <param name="JournalMode">The source's journal mode.</param>
/// <param name="WritersHeldOff">In rollback-journal mode, how long the read lock kept writers from committing; null in WAL mode, where writers are never blocked.</param>
/// <param name="Taken">When the read transaction pinned the snapshot: the moment the backup's contents are from.</param>
internal sealed record SnapshotInfo(long PageSize, long PageCount, string JournalMode, TimeSpan? WritersHeldOff, DateTimeOffset Taken)
{
    public long Bytes => PageSize * PageCount;
}

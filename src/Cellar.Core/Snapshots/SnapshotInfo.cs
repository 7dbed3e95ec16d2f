namespace Cellar.Core.Snapshots;

/// <summary>What a snapshot copied.</summary>
/// <param name="PageSize">Page size in bytes.</param>
/// <param name="PageCount">Pages copied.</param>
/// <param name="JournalMode">The source's journal mode.</param>
/// <param name="WritersHeldOff">
/// How long the snapshot kept the app's writers from committing: in rollback-journal mode the whole copy under the read
/// lock; in WAL mode, read in place, the moment its read transactions began (<see cref="InPlaceSnapshot"/>); null for a
/// copy in WAL mode, which holds no writer.
/// </param>
/// <param name="Taken">When the read transaction pinned the snapshot: the moment the backup's contents are from.</param>
internal sealed record SnapshotInfo(long PageSize, long PageCount, string JournalMode, TimeSpan? WritersHeldOff, DateTimeOffset Taken)
{
    public long Bytes => PageSize * PageCount;
}

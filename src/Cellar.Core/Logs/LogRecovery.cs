using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// Settles what a rotation killed part-way left behind, before the next one cuts anything, so that no line is lost or
/// archived twice: half-written copies, a renamed log whose app was never told, an archive published but not yet
/// recorded, a copytruncate between its copy and its truncate, a collapse that may or may not have happened. Each
/// cut strategy records its step as pending in <see cref="LogState"/> before taking it; this reads the file to tell
/// whether the step happened. A renamed or copied file left beside the log is then archived by the rotator.
/// </summary>
internal static class LogRecovery
{
    /// <summary>
    /// Settles what a crash left around the log's name (before the log is opened) and returns its state: half copies
    /// deleted, an untold rename taken back, a published archive counted, a pending truncate decided.
    /// </summary>
    public static LogState Settle(JobConfig job, string path)
    {
        DeleteHalfCopies(path);
        TakeBackUntoldRename(job, path);
        var state = LogState.Read(job.Folder, path).Settled();
        return SettleTruncate(job, path, state);
    }

    /// <summary>
    /// Settles a collapse a crash interrupted: the file's head shows whether it happened. Appends only ever add to
    /// the end, so without the collapse the head still hashes as before; with it, as the bytes that followed the cut.
    /// </summary>
    public static LogState SettleCollapse(LogState state, SafeFileHandle handle)
    {
        if (state.Pending is not { } pending)
        {
            return state;
        }

        // The state saved with the pending collapse already holds the probe of the uncut head; a head that matches
        // neither hash was emptied by someone else since, which that probe then shows.
        var size = RandomAccess.GetLength(handle);
        var collapsed = size < pending.ArchivedBefore
            || (LogFile.HashAt(handle, 0, pending.ProbeLength) is var head && head == pending.HeadAfter && head != pending.HeadBefore);
        return collapsed
            ? state with { Archived = pending.ArchivedBefore - pending.Bytes, Head = pending.Retained, Pending = null }
            : state with { Archived = pending.ArchivedBefore, Pending = null };
    }

    /// <summary>Removes copies a copytruncate left half-written under a temp name beside the log.</summary>
    private static void DeleteHalfCopies(string path)
    {
        foreach (var file in TempFile.LeftFor(Path.GetDirectoryName(path)!, Path.GetFileName(path), CopyTruncateCut.CopyPurpose).ToList())
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Settles a signal rotation killed between its rename and the fresh file: the log's name is gone and the app, never
    /// told, still writes to the renamed file. That file gets its name back with what its state says is archived (as when
    /// telling the app fails), so the log goes on under its name and this run rotates it as usual.
    /// </summary>
    private static void TakeBackUntoldRename(JobConfig job, string path)
    {
        var rotated = LogFile.RotatedPath(path);
        if (File.Exists(path) || !File.Exists(rotated) || LogWriters.Find(rotated).Count == 0)
        {
            return;
        }

        (LogState.Read(job.Folder, rotated) with { Path = path }).Save(job.Folder);
        File.Move(rotated, path);
        LogState.Delete(job.Folder, rotated);
    }

    /// <summary>
    /// Settles a copytruncate a crash interrupted: if the live file still starts, at the copy's first byte, with what
    /// was copied, the truncate never happened and the copy (which would repeat those lines) goes; otherwise the live
    /// file was truncated and the copy is archived like any renamed log.
    /// </summary>
    private static LogState SettleTruncate(JobConfig job, string path, LogState state)
    {
        if (state.Truncate is not { } pending)
        {
            return state;
        }

        var rotated = LogFile.RotatedPath(path);
        var truncated = true;
        if (File.Exists(path))
        {
            using var live = LogFile.Open(path, FileAccess.Read);
            truncated = live.Length < pending.From + pending.ProbeLength || LogFile.HashAt(live.SafeFileHandle, pending.From, pending.ProbeLength) != pending.Head;
        }

        if (!truncated)
        {
            if (UnixFiles.LStat(rotated) is { } copy && copy.Inode == pending.CopyInode)
            {
                File.Delete(rotated);
                LogState.Delete(job.Folder, rotated);
            }

            state = state with { Truncate = null };
        }
        else
        {
            state = state.NothingArchived() with { Truncate = null };
        }

        state.Save(job.Folder);
        return state;
    }
}

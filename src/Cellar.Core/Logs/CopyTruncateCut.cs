using System.Diagnostics;
using System.Globalization;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// <b>copytruncate</b>, the last resort where a log can neither be cut in place nor reopened: copy, fsync, truncate
/// at once. Lines written in the microseconds between the last copy and the truncate are lost, as with logrotate, and
/// the outcome says how long that window was. The truncate is recorded as pending before the copy takes its rotated
/// name, so a crash on either side of it is settled by <see cref="LogRecovery.SettleTruncate"/>.
/// </summary>
internal sealed class CopyTruncateCut(LogArchiver archiver) : ILogCut
{
    /// <summary>The purpose in the copy's temp name, by which recovery finds a copy a crash left half-written.</summary>
    public const string CopyPurpose = "copy";

    public async Task<LogOutcome> CutAsync(LiveLog log, CancellationToken cancellationToken)
    {
        var (job, path, live, _, state, _) = log;

        // The bulk is copied to a hidden temp file and fsynced; then, with the truncate recorded as pending (so a crash
        // before it throws the copy away rather than archive its lines twice), the copy takes the name a signal
        // rotation uses, catches up with the last appends and the live file is truncated at once.
        var rotated = LogFile.RotatedPath(path);
        var handle = live.SafeFileHandle;
        var from = state.Archived;
        var position = from;
        long window;
        bool torn;
        using (var temp = TempFile.For(Path.GetDirectoryName(path)!, Path.GetFileName(path), CopyPurpose))
        {
            using var copy = new FileStream(temp.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
            var buffer = new byte[1 << 20];
            var last = (byte)'\n';
            position = CopyUpToEnd(handle, copy, buffer, position, ref last);
            Fsync.File(copy);
            var probe = (int)Math.Min(LogFile.ProbeBytes, position - from);
            var copyInode = LogFile.StatOf(copy, temp.Path).Inode;
            (state with { Truncate = new PendingTruncate(copyInode, from, probe, LogFile.HashAt(handle, from, probe)) }).Save(job.Folder);
            new LogState { Path = rotated, Inode = copyInode }.Save(job.Folder);
            temp.Commit(rotated);
            CrashPoint.Reach(CrashPoint.RotateCopied, cancellationToken);

            // What came while the bulk was synced goes to disk too, before the live file is cut: at the truncate, only
            // the last catch-up (microseconds of lines) is not yet on disk, and a failed sync leaves the live log whole.
            position = CopyUpToEnd(handle, copy, buffer, position, ref last);
            Fsync.Handle(copy.SafeFileHandle, rotated);
            window = TruncateWhenCaughtUp(live, copy, buffer, ref position, ref last);
            CrashPoint.Reach(CrashPoint.RotateTruncated, cancellationToken);

            // A line the app was writing when the file was truncated lost its end: keep what was copied on a line of its
            // own, so it does not run into the first line of the next archive.
            torn = last != (byte)'\n';
            if (torn)
            {
                copy.Write("\n"u8);
            }

            Fsync.Handle(copy.SafeFileHandle, rotated);
        }

        new LogState { Path = path, Inode = state.Inode }.Save(job.Folder);
        var outcome = await archiver.ArchiveRotatedAsync(job, path, RotationMethod.CopyTruncate, cancellationToken).ConfigureAwait(false);
        return outcome with
        {
            LossWindowMicroseconds = window,
            Warning = LogOutcome.JoinWarnings(outcome.Warning, string.Create(CultureInfo.InvariantCulture, $"copytruncate: the file was truncated {window} µs after the last copy; lines written in that window are lost")
                + (torn ? "; the last line archived was cut short by the truncate" : string.Empty)),
        };
    }

    /// <summary>
    /// Copies the last appends and truncates the live file the moment the copy has caught up with it; returns the
    /// microseconds between the last copy and the truncate, the window in which a line written is lost.
    /// </summary>
    private static long TruncateWhenCaughtUp(FileStream live, FileStream copy, byte[] buffer, ref long position, ref byte last)
    {
        var clock = Stopwatch.StartNew();
        for (;;)
        {
            position = CopyUpToEnd(live.SafeFileHandle, copy, buffer, position, ref last);
            clock.Restart();
            if (RandomAccess.GetLength(live.SafeFileHandle) == position)
            {
                live.SetLength(0);
                return clock.ElapsedTicks * 1_000_000 / Stopwatch.Frequency;
            }
        }
    }

    private static long CopyUpToEnd(SafeFileHandle handle, FileStream copy, byte[] buffer, long position, ref byte last)
    {
        int read;
        while ((read = RandomAccess.Read(handle, buffer, position)) > 0)
        {
            copy.Write(buffer, 0, read);
            position += read;
            last = buffer[read - 1];
        }

        return position;
    }
}

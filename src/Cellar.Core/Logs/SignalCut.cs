using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// <b>signal</b>: rename the log, create a fresh file like the old one, make the writer reopen (<see cref="AppNotifier"/>:
/// a signal to the pid in a pid file, or a POST to a URL), wait until it has, archive the renamed file. Nothing is
/// lost; a crash after the rename is settled by <see cref="LogRecovery.TakeBackUntoldRename"/> and the archive of the
/// renamed file left behind.
/// </summary>
internal sealed class SignalCut(LogArchiver archiver) : ILogCut
{
    public async Task<LogOutcome> CutAsync(LiveLog log, CancellationToken cancellationToken)
    {
        var (job, path, _, like, state, writers) = log;
        var rotated = LogFile.RotatedPath(path);

        // The renamed file keeps its inode and what of it is archived; its state is saved before the rename.
        new LogState { Path = rotated, Inode = like.Inode, Archived = state.Archived, Head = state.Head }.Save(job.Folder);
        File.Move(path, rotated);
        CrashPoint.Reach(CrashPoint.RotateRenamed, cancellationToken);
        UnixFiles.FileStat fresh;
        try
        {
            fresh = CreateLike(path, like);
            await AppNotifier.NotifyAsync(job, path, writers, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The app was not told: it still writes to the renamed file, which must get its name back.
            if (File.Exists(path) && new FileInfo(path).Length == 0)
            {
                File.Delete(path);
                File.Move(rotated, path);
                LogState.Delete(job.Folder, rotated);
            }

            throw;
        }

        new LogState { Path = path, Inode = fresh.Inode }.Save(job.Folder);
        await AppNotifier.WaitForReopenAsync(path, rotated, writers.Count > 0, cancellationToken).ConfigureAwait(false);
        return await archiver.ArchiveRotatedAsync(job, path, RotationMethod.Signal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A new empty file (never an existing name, nor through a link) with the owner, group and mode of the one it
    /// replaces, set on its descriptor, so the app can reopen it.
    /// </summary>
    private static UnixFiles.FileStat CreateLike(string path, UnixFiles.FileStat like)
    {
        using var created = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(created.SafeFileHandle, (UnixFileMode)(like.Mode & 0x1FF));
            if (UnixFiles.IsRoot)
            {
                _ = UnixFiles.FChown(created.SafeFileHandle, like.Uid, like.Gid);
            }
        }

        return LogFile.StatOf(created, path);
    }
}

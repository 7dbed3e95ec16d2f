using System.Globalization;
using Cellar.Core.Artifacts;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.IO;
using Cellar.Core.Configuration;
using Cellar.Core.Progress;
using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Cellar.Core.Verification;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Restore;

/// <summary>
/// Restores a snapshot backup: verify it in full into a temp file beside the target, fsync, give it the owner
/// and mode of the file it replaces, then swap it in with one rename. The target path never stops naming a
/// database: an existing target stays reachable as <c>PATH.pre-restore-YYYYMMDD-HHMMSS</c> (a hard link made
/// before the swap), and any <c>-wal</c>/<c>-shm</c>/<c>-journal</c> beside the target, which SQLite would
/// otherwise replay into the restored file, is moved aside to that name plus its suffix, even when the
/// database itself is gone.
/// </summary>
/// <remarks>Over 300 lines, a sixth of them its log messages: the swap and the undo of a failed swap read
/// best side by side, and the verified copy and the target's checks already have files of their own.</remarks>
public sealed partial class RestoreService(TimeProvider time, TimeZoneInfo zone, ILogger<RestoreService> logger)
{
    /// <summary>The files SQLite keeps beside a database, by the database's name plus these.</summary>
    internal static readonly string[] CompanionSuffixes = ["-wal", "-shm", "-journal"];

    /// <summary>Restores <paramref name="backupPath"/> to <paramref name="targetPath"/>.</summary>
    public Task<RestoreResult> RestoreAsync(string backupPath, string targetPath, bool force, IProgress<JobProgress>? progress, CancellationToken cancellationToken) =>
        SwapInAsync(backupPath, (expanded, stage, c) => BackupVerifier.ExpandAndCheckAsync(backupPath, expanded, stage, c), targetPath, force, progress, cancellationToken);

    /// <summary>
    /// Restores the database <paramref name="job"/> streamed as of <paramref name="at"/> (null: its newest point) to
    /// <paramref name="targetPath"/>, by the same steps as a snapshot.
    /// </summary>
    public Task<RestoreResult> RestoreStreamAsync(StreamJob job, DateTimeOffset? at, string targetPath, bool force, IProgress<JobProgress>? progress, CancellationToken cancellationToken) =>
        SwapInAsync($"stream {job.Name}", (expanded, stage, c) => StreamRestore.BuildAsync(job, at, expanded, stage, c), targetPath, force, progress, cancellationToken);

    /// <summary>
    /// The restore itself: <paramref name="expand"/> writes the database to restore into a temp file beside the target
    /// and checks it (<paramref name="backupPath"/> names what it restores), then the swap.
    /// </summary>
    private async Task<RestoreResult> SwapInAsync(
        string backupPath, Func<string, IProgress<double>?, CancellationToken, Task<VerificationResult>> expand, string targetPath, bool force, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        var target = RestoreTarget.Check(targetPath);
        var folder = Path.GetDirectoryName(target)!;
        var name = Path.GetFileName(target);
        if (new FileInfo(target).LinkTarget is { } linkTarget)
        {
            // Swapping would replace the link, not the database (and its -wal) it points to.
            throw new ConfigException($"cannot restore to {target}: it is a symbolic link to {linkTarget}; restore to the file it points to");
        }

        if (RestoreTarget.Exists(target) && !force)
        {
            throw RefuseReplacing(target);
        }

        // Held until the swap is done: the sweep below must never meet the temp file of a restore still running.
        using var exclusive = await RestoreLock.AcquireAsync(folder, time, logger, cancellationToken).ConfigureAwait(false);
        var warnedUninspectable = false;
        RefuseIfWritten(target, ref warnedUninspectable);
        SweepLeftovers(folder, name);

        using var expanded = TempFile.For(folder, name);
        var stage = progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress("verify", f)));
        var result = await expand(expanded.Path, stage, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new BackupRejectedException(backupPath, result);
        }

        if (ArtifactKinds.Of(result.Sidecar!) is { Restore: not RestoreWay.WholeDatabase } kind)
        {
            throw new ConfigException(kind.Refusal(backupPath, RestoreWay.WholeDatabase));
        }

        // Expanding and checking can take minutes: the app may have been started, or have created the file, since.
        cancellationToken.ThrowIfCancellationRequested();
        var exists = RestoreTarget.Exists(target);
        if (exists && !force)
        {
            throw RefuseReplacing(target);
        }

        RefuseIfWritten(target, ref warnedUninspectable);

        // From here the verified copy is handled through an open descriptor, never by its name: the folder is the app's,
        // and its user could swap the name for a link to any file between a look and a chown (a root restore once
        // handed a root-only file to the app's user that way).
        using var restored = VerifiedCopy.Open(expanded.Path, result.Expanded, folder);
        restored.MatchOwnership(exists ? target : folder, exists, logger);

        var stamp = TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var saved = FreeSavedName(target, stamp);
        var undo = new Stack<Action>();
        var savedCompanions = new List<string>();
        try
        {
            if (exists)
            {
                if (CompanionFold.TryFold(target) is { } notFolded)
                {
                    LogNotFolded(logger, target, notFolded);
                }

                KeepPrevious(target, saved);
                undo.Push(() => File.Delete(saved)); // the target still names the same data
                CrashPoint.Reach(CrashPoint.RestorePreviousKept, cancellationToken);
            }

            foreach (var suffix in CompanionSuffixes)
            {
                if (File.Exists(target + suffix))
                {
                    File.Move(target + suffix, saved + suffix, overwrite: false);
                    undo.Push(() => File.Move(saved + suffix, target + suffix, overwrite: false));
                    savedCompanions.Add(saved + suffix);
                }
            }

            CrashPoint.Reach(CrashPoint.RestoreCompanionsMoved, cancellationToken);

            // One rename(2): the target names the old database until it names the restored one. With no old file,
            // a file that appeared since the check above is never replaced (the move fails instead).
            restored.RefuseIfSwapped(expanded.Path);
            File.Move(expanded.Path, target, overwrite: exists);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Undo(undo);
            throw new CellarException($"cannot swap the restored database into {target}: {e.Message}; nothing was changed", e);
        }
        catch (CellarException)
        {
            // The verified copy was swapped by someone else: what was moved so far goes back (the old database's -wal,
            // which may hold commits a fold could not take in), and the refusal is said as it is.
            Undo(undo);
            throw;
        }

        CrashPoint.Reach(CrashPoint.RestoreSwapped, cancellationToken);

        // The temp name is gone now; disposing `expanded` deletes nothing of the restored file. A swap the disk cannot
        // make durable, or that moved something else into place, is undone: the old database (its second name) and its
        // companions go back under their names.
        try
        {
            restored.RefuseIfSwapped(target);
            Fsync.Directory(folder);
        }
        catch (CellarException)
        {
            Undo(new Stack<Action>([
                .. savedCompanions.Select<string, Action>(c => () => File.Move(c, target + c[saved.Length..], overwrite: false)),
                exists ? () => File.Move(saved, target, overwrite: true) : () => File.Delete(target)]));
            throw;
        }

        var savedPrevious = exists ? saved : null;
        LogRestored(logger, backupPath, target, savedPrevious ?? "none");
        if (savedCompanions.Count > 0)
        {
            var list = string.Join(", ", savedCompanions);
            if (exists)
            {
                LogCompanionsKept(logger, list);
            }
            else
            {
                LogStaleCompanionsMoved(logger, target, list);
            }
        }

        return new RestoreResult(target, savedPrevious, result.Sidecar!) { SavedCompanions = savedCompanions };
    }

    private static ConfigException RefuseReplacing(string target) =>
        new($"{target} exists; pass --force to replace it (the old file is kept as {Path.GetFileName(target)}.pre-restore-…)");

    /// <summary>Refuses while a process writes the database or its journal; says once when some processes could not be looked at.</summary>
    private void RefuseIfWritten(string target, ref bool warnedUninspectable)
    {
        var scan = WriterDetector.Find(target);
        if (scan.Writers is [var (pid, name), ..])
        {
            throw new CellarException($"{target} is open for writing by process {pid} ({name}); stop it before restoring");
        }

        if (scan.Uninspectable > 0 && !warnedUninspectable)
        {
            warnedUninspectable = true;
            LogUninspectable(logger, scan.Uninspectable, UnixFiles.IsRoot ? "" : " (not running as root)", target);
        }
    }

    /// <summary>Removes temp files a killed restore to the same name left (each the size of the database).</summary>
    private void SweepLeftovers(string folder, string name)
    {
        foreach (var path in TempFile.LeftFor(folder, name).ToList())
        {
            try
            {
                File.Delete(path);
                LogSwept(logger, path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(logger, path, e.Message);
            }
        }
    }

    /// <summary><c>PATH.pre-restore-STAMP</c>, or <c>PATH.pre-restore-STAMP.N</c> when that (or a companion of it) is taken.</summary>
    internal static string FreeSavedName(string target, string stamp) => FreeName.First(
        n => n == 0 ? $"{target}.pre-restore-{stamp}" : $"{target}.pre-restore-{stamp}.{n + 1}",
        name => File.Exists(name) || CompanionSuffixes.Any(s => File.Exists(name + s)));

    /// <summary>Makes <paramref name="saved"/> a second name of the target; where the filesystem has no hard links, a copy.</summary>
    private void KeepPrevious(string target, string saved)
    {
        var errno = UnixFiles.Link(target, saved);
        if (errno == 0)
        {
            return;
        }

        if (errno is UnixFiles.EExist or UnixFiles.ENoent)
        {
            throw new IOException($"cannot keep the previous database as {saved}: {UnixFiles.Describe(errno)}");
        }

        LogCopyingPrevious(logger, target, saved, UnixFiles.Describe(errno));
        var created = false;
        try
        {
            // Read through a descriptor opened without following links, and the copy's owner and mode set on its own
            // descriptor from that one's: by name, a swap in between could copy one file and give it another's owner.
            using var source = OperatingSystem.IsWindows()
                ? new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan)
                : new FileStream(UnixFiles.OpenNoFollow(target, NativeMethods.ORdonly), FileAccess.Read, 1 << 20);
            var owner = UnixFiles.FStat(source.SafeFileHandle);
            if (owner is { IsRegularFile: false } other)
            {
                throw new IOException($"{target} is {other.TypeName} now, not the database");
            }

            using var copy = SecureFiles.CreateNew(saved);
            created = true;
            source.CopyTo(copy, 1 << 20);
            Fsync.File(copy);
            if (owner is { } o && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(copy.SafeFileHandle, (UnixFileMode)o.Mode & VerifiedCopy.PermissionBits);
                if (UnixFiles.IsRoot)
                {
                    _ = UnixFiles.FChown(copy.SafeFileHandle, o.Uid, o.Gid);
                }
            }
        }
        catch (Exception e) when (created && e is IOException or UnauthorizedAccessException or SyncFailedException)
        {
            try
            {
                File.Delete(saved); // a partial copy is no copy
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                LogUndoFailed(logger, cleanup.Message);
            }

            throw;
        }
    }

    private void Undo(Stack<Action> undo)
    {
        while (undo.TryPop(out var step))
        {
            try
            {
                step();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogUndoFailed(logger, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "restored {Backup} to {Target} (previous file kept as {Saved})")]
    private static partial void LogRestored(ILogger logger, string backup, string target, string saved);

    [LoggerMessage(Level = LogLevel.Information, Message = "kept the previous database's companions as {Saved}")]
    private static partial void LogCompanionsKept(ILogger logger, string saved);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Target} had no database but stale SQLite companions, which would have been replayed into the restored file; moved them aside to {Saved}")]
    private static partial void LogStaleCompanionsMoved(ILogger logger, string target, string saved);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not inspect {Count} processes{Why}; a writer among them to {Target} would not have been noticed")]
    private static partial void LogUninspectable(ILogger logger, int count, string why, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "removed {Path}, left by an interrupted restore")]
    private static partial void LogSwept(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot remove {Path}, left by an interrupted restore: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string path, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot hard-link {Target} as {Saved} ({Error}); copying it instead")]
    private static partial void LogCopyingPrevious(ILogger logger, string target, string saved, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not fold the -wal/-journal of {Target} into it ({Error}); they are moved aside as they are, and until the swap is made the target lacks what they hold")]
    private static partial void LogNotFolded(ILogger logger, string target, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not undo a step of the failed swap: {Error}")]
    private static partial void LogUndoFailed(ILogger logger, string error);
}

/// <summary>A finished restore.</summary>
/// <param name="Target">The restored database.</param>
/// <param name="SavedPrevious">Where the replaced database is kept, if there was one.</param>
/// <param name="Sidecar">The restored backup's sidecar.</param>
public sealed record RestoreResult(string Target, string? SavedPrevious, Catalog.Sidecar Sidecar)
{
    /// <summary>
    /// The <c>-wal</c>/<c>-shm</c>/<c>-journal</c> files found beside the target, where they now are
    /// (<c>PATH.pre-restore-STAMP-wal</c> …); they would otherwise have been replayed into the restored database.
    /// </summary>
    public IReadOnlyList<string> SavedCompanions { get; init; } = [];
}

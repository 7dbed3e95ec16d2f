using System.Globalization;
using Cellar.Core.Artifacts;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// Writes a log's lines into an archive through the one path of every artifact (<see cref="ArtifactWriter"/>: temp file,
/// compress + hash, fsync, verify by decompressing, sidecar, publish under the final name). Each cut strategy hands it the bytes to archive and,
/// through <c>beforePublish</c>, the state that records them as archived once the final name exists.
/// </summary>
internal sealed class LogArchiver(TimeProvider time, TimeZoneInfo zone)
{
    /// <summary>
    /// Archives the renamed (or copied) file beside <paramref name="path"/> from what its own state says is archived,
    /// then deletes it, unless the app still writes to it (it has not reopened): then it stays, and what the app adds
    /// is archived by the next run.
    /// </summary>
    public async Task<LogOutcome> ArchiveRotatedAsync(JobConfig job, string path, RotationMethod? method, CancellationToken cancellationToken)
    {
        var rotated = LogFile.RotatedPath(path);
        LogOutcome outcome;
        long end;
        ArchivedHead? head;
        LogState state;
        using (var file = LogFile.Open(rotated, FileAccess.Read))
        {
            var stat = LogFile.StatOf(file, rotated);
            state = LogState.Read(job.Folder, rotated).Settled();
            if (state.Inode != stat.Inode)
            {
                state = new LogState { Path = rotated, Inode = stat.Inode };
            }

            // An app that never reopened keeps writing here, and may empty this file as well when it restarts.
            string? warning = null;
            if (state.HeadReplaced(file.SafeFileHandle))
            {
                warning = LogState.HeadReplacedWarning(rotated, state.Archived);
                state = state.NothingArchived();
            }

            end = file.Length;
            head = ArchivedHead.Of(file.SafeFileHandle, 0, end);
            var before = state;
            outcome = end > state.Archived
                ? await ArchiveAsync(job, path, new FileRegionStream(file.SafeFileHandle, state.Archived, end), final => (before with { Archive = new PendingArchive(final, end, head) }).Save(job.Folder), cancellationToken).ConfigureAwait(false) with { Method = method }
                : new LogOutcome(path, LogStatus.Empty, method);
            outcome = outcome with { Warning = LogOutcome.JoinWarnings(warning, outcome.Warning) };
        }

        var stillWritten = LogWriters.Find(rotated);
        if (stillWritten.Count > 0 || new FileInfo(rotated).Length != end)
        {
            (state with { Archived = end, Head = head }).Save(job.Folder);
            var who = stillWritten.Count > 0 ? $"pid {stillWritten[0].Pid} ({stillWritten[0].Name})" : "the app";
            return outcome with { Warning = LogOutcome.JoinWarnings(outcome.Warning, $"{who} still writes to {rotated}: it has not reopened {path}; what it adds there is archived by the next run") };
        }

        File.Delete(rotated);
        LogState.Delete(job.Folder, rotated);
        Fsync.Directory(Path.GetDirectoryName(path)!);
        return outcome;
    }

    /// <summary>
    /// Writes <paramref name="source"/> as an archive of <paramref name="path"/>: compressed, fsynced, verified, with its
    /// sidecar. <paramref name="beforePublish"/> runs with the final name just before the archive takes it.
    /// </summary>
    public async Task<LogOutcome> ArchiveAsync(JobConfig job, string path, Stream source, Action<string> beforePublish, CancellationToken cancellationToken)
    {
        var tag = job.FileName.HasTag ? Path.GetFileNameWithoutExtension(path) : null;
        await using var archive = new LogArchiveSource(path, source, time.GetUtcNow(), beforePublish);
        var (finalPath, sidecar) = await new ArtifactWriter(time).WriteAsync(job, zone, tag, archive, cancellationToken).ConfigureAwait(false);
        var text = archive.Text;
        var warning = text.NulBytes == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"{text.NulBytes} NUL bytes in {path} were left out of the archive: a hole left by a writer without O_APPEND after an earlier rotation; open the log with O_APPEND (Node: flags: 'a')");
        return new LogOutcome(path, LogStatus.Rotated, null, finalPath, text.Bytes, text.Lines, Warning: warning, ArchiveSidecar: sidecar);
    }
}

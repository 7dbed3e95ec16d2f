using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// Rotates live logs without losing a line. The complete lines not yet archived go into an archive through the
/// same compress, fsync, verify, sidecar, rename path as backups; then the live file is emptied of them:
/// <list type="bullet">
/// <item><b>collapse</b> (ext4, XFS): <c>fallocate(FALLOC_FL_COLLAPSE_RANGE)</c> cuts the archived head off in place,
/// block-aligned, while the app keeps appending; the few archived bytes of the last partial block stay at the
/// head and are remembered in <see cref="LogState"/>, so nothing is archived twice;</item>
/// <item><b>signal</b>: rename, create a fresh file like the old one, make the writer reopen (signal to the pid in
/// a pid file, or a POST to a URL), wait until it has, archive the renamed file;</item>
/// <item><b>copytruncate</b>: copy, fsync, truncate at once: lines written in the microseconds between the last
/// copy and the truncate are lost, as with logrotate, and the job says so.</item>
/// </list>
/// </summary>
public sealed partial class LogRotator(TimeProvider time, TimeZoneInfo zone, ILogger<LogRotator> logger)
{
    private const string RotatingSuffix = ".cellar-rotating";
    private const int ProbeBytes = 4096;
    private const int EInval = 22;
    private const int ENotSupported = 95;
    private static readonly TimeSpan ReopenWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Rotates every log of <paramref name="job"/>; throws <see cref="CellarException"/> on the first that cannot be.</summary>
    public async Task<IReadOnlyList<LogOutcome>> RotateAsync(JobConfig job, CancellationToken cancellationToken)
    {
        SecureFiles.EnsureFolder(job.Folder);
        var outcomes = new List<LogOutcome>();
        foreach (var path in LogsOf(job))
        {
            foreach (var outcome in await RotateOneAsync(job, path, cancellationToken).ConfigureAwait(false))
            {
                Log(outcome);
                outcomes.Add(outcome);
            }
        }

        return outcomes;
    }

    /// <summary>The live logs a job names: its paths, with a glob in the file name expanded (Cellar's own files left out).</summary>
    internal static IEnumerable<string> LogsOf(JobConfig job)
    {
        foreach (var configured in job.Paths)
        {
            var pattern = Path.GetFileName(configured);
            if (pattern.AsSpan().IndexOfAny('*', '?') < 0)
            {
                yield return configured;
                continue;
            }

            var folder = Path.GetDirectoryName(configured)!;
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(folder, pattern).Order(StringComparer.Ordinal))
            {
                if (!file.EndsWith(RotatingSuffix, StringComparison.Ordinal) && !TempFile.IsTempName(Path.GetFileName(file)))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>
    /// True when a log of <paramref name="job"/> holds more than its <c>maxBytes</c> not yet archived: the daemon's
    /// cheap check (a stat per log) for rotating early, before a huge night fills the disk.
    /// </summary>
    public static bool IsOverMaxBytes(JobConfig job) =>
        job.MaxBytes is { } max && LogsOf(job).Any(path =>
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length - LogState.Read(job.Folder, path).Archived > max;
        });

    private async Task<List<LogOutcome>> RotateOneAsync(JobConfig job, string path, CancellationToken cancellationToken)
    {
        var outcomes = new List<LogOutcome>();
        var rotated = path + RotatingSuffix;
        if (new FileInfo(path).LinkTarget is { } link)
        {
            // Rotating cuts and truncates files: as root, through a link the app's user controls, it could be any file.
            throw new CellarException($"{path} is a symbolic link (to {link}); name the log file itself in the job");
        }

        DeleteHalfCopies(path);
        TakeBackUntoldRename(job, path);
        var state = LogState.Read(job.Folder, path).Settled();
        state = SettleTruncate(job, path, state);

        // A rename (signal) or copy (copytruncate) whose archive a crash or a slow app prevented: its lines come first.
        if (File.Exists(rotated))
        {
            outcomes.Add(await ArchiveRotatedAsync(job, path, method: null, cancellationToken).ConfigureAwait(false));
        }

        if (!File.Exists(path))
        {
            if (outcomes.Count == 0)
            {
                outcomes.Add(new LogOutcome(path, LogStatus.Missing));
            }

            return outcomes;
        }

        using var live = OpenLog(path, FileAccess.ReadWrite);
        var stat = StatOf(live, path);
        if (state.Inode != stat.Inode)
        {
            state = new LogState { Path = path, Inode = stat.Inode };
        }

        state = Recover(state, live.SafeFileHandle);
        string? warning = null;
        if (state.HeadReplaced(live.SafeFileHandle))
        {
            warning = HeadReplacedWarning(path, state.Archived);
            state = state.NothingArchived();
        }

        var size = live.Length;

        if (size == state.Archived)
        {
            state.Save(job.Folder);
            outcomes.Add(new LogOutcome(path, LogStatus.Empty, Warning: warning));
            return outcomes;
        }

        var writers = LogWriters.Find(path);
        var method = ChooseMethod(job, path, state, stat.BlockSize, writers.FirstOrDefault(w => !w.Appends));
        var outcome = method switch
        {
            RotationMethod.Collapse => await CollapseAsync(job, path, live, state, stat.BlockSize, cancellationToken).ConfigureAwait(false),
            RotationMethod.Signal => await SignalAsync(job, path, state, stat, writers, cancellationToken).ConfigureAwait(false),
            _ => await CopyTruncateAsync(job, path, live, state, cancellationToken).ConfigureAwait(false),
        };
        outcomes.Add(outcome with { Warning = Join(warning, outcome.Warning) });
        return outcomes;
    }

    private static RotationMethod ChooseMethod(JobConfig job, string path, LogState state, long blockSize, LogWriter? careless)
    {
        var canSignal = job.Fallbacks.Contains(RotationMethod.Signal) && (job.PidFile is not null || job.ReopenUrl is not null);
        if (careless is not null)
        {
            return canSignal ? RotationMethod.Signal : throw new CellarException(
                $"{path} is written by pid {careless.Pid} ({careless.Name}) without O_APPEND: cutting or truncating it would leave a NUL-filled hole as large as the file; "
                + "open the log with O_APPEND (Node: flags: 'a'), or set pidFile or reopenUrl so Cellar can make the app reopen it");
        }

        if (!state.CollapseUnsupported && CollapseProbe.Works(Path.GetDirectoryName(path)!, blockSize))
        {
            return RotationMethod.Collapse;
        }

        if (canSignal)
        {
            return RotationMethod.Signal;
        }

        return job.Fallbacks.Contains(RotationMethod.CopyTruncate) ? RotationMethod.CopyTruncate : throw new CellarException(
            $"the filesystem of {path} cannot cut a file's head (tmpfs or overlay?) and no fallback is usable: set pidFile or reopenUrl for 'signal', or allow 'copytruncate' in fallbacks");
    }

    private async Task<LogOutcome> CollapseAsync(JobConfig job, string path, FileStream live, LogState state, long blockSize, CancellationToken cancellationToken)
    {
        var handle = live.SafeFileHandle;
        var size = live.Length;
        var cut = LineEnd(handle, state.Archived, size);
        if (cut <= state.Archived)
        {
            state.Save(job.Folder);
            return new LogOutcome(path, LogStatus.NoCompleteLine);
        }

        var before = state;
        var head = ArchivedHead.Of(handle, 0, cut);
        var archive = await ArchiveAsync(job, path, new FileRegionStream(handle, state.Archived, cut), final => (before with { Archive = new PendingArchive(final, cut, head) }).Save(job.Folder), cancellationToken).ConfigureAwait(false);
        state = state with { Archived = cut, Head = head };
        state.Save(job.Folder);

        // Keep at least one byte after the cut, so a crash right here can tell "collapsed" from "not yet" by the head.
        var bytes = cut / blockSize * blockSize;
        if (bytes == size)
        {
            bytes -= blockSize;
        }

        if (bytes <= 0)
        {
            return archive with { Method = RotationMethod.Collapse };
        }

        var probe = (int)Math.Min(ProbeBytes, size - bytes);
        var pending = new PendingCollapse(bytes, cut, probe, HashAt(handle, 0, probe), HashAt(handle, bytes, probe), ArchivedHead.Of(handle, bytes, cut));
        if (pending.HeadBefore == pending.HeadAfter)
        {
            // Repeating content would make a crash here undecidable: leave the cut to the next rotation.
            return archive with { Method = RotationMethod.Collapse };
        }

        (state with { Pending = pending }).Save(job.Folder);
        CrashPoint.Reach(CrashPoint.RotateCollapsePending, cancellationToken);
        if (HeadCut.Collapse(handle, bytes) is var errno && errno != 0)
        {
            (state with { CollapseUnsupported = errno is EInval or ENotSupported }).Save(job.Folder);
            return archive with
            {
                Warning = $"archived, but {path} could not be cut ({UnixFiles.Describe(errno)}); its archived lines stay until the next rotation, which uses a fallback and never archives them twice",
            };
        }

        CrashPoint.Reach(CrashPoint.RotateCollapsed, cancellationToken);
        (state with { Archived = cut - bytes, Head = pending.Retained }).Save(job.Folder);
        return archive with { Method = RotationMethod.Collapse };
    }

    private async Task<LogOutcome> SignalAsync(JobConfig job, string path, LogState state, UnixFiles.FileStat like, IReadOnlyList<LogWriter> writers, CancellationToken cancellationToken)
    {
        var rotated = path + RotatingSuffix;

        // The renamed file keeps its inode and what of it is archived; its state is saved before the rename.
        new LogState { Path = rotated, Inode = like.Inode, Archived = state.Archived, Head = state.Head }.Save(job.Folder);
        File.Move(path, rotated);
        CrashPoint.Reach(CrashPoint.RotateRenamed, cancellationToken);
        UnixFiles.FileStat fresh;
        try
        {
            fresh = CreateLike(path, like);
            await NotifyAsync(job, path, writers, cancellationToken).ConfigureAwait(false);
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
        await WaitForReopenAsync(path, rotated, writers.Count > 0, cancellationToken).ConfigureAwait(false);
        return await ArchiveRotatedAsync(job, path, RotationMethod.Signal, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LogOutcome> CopyTruncateAsync(JobConfig job, string path, FileStream live, LogState state, CancellationToken cancellationToken)
    {
        // The bulk is copied to a hidden temp file and fsynced; then, with the truncate recorded as pending (so a crash
        // before it throws the copy away rather than archive its lines twice), the copy takes the name a signal
        // rotation uses, catches up with the last appends and the live file is truncated at once.
        var rotated = path + RotatingSuffix;
        var handle = live.SafeFileHandle;
        var from = state.Archived;
        var position = from;
        long window;
        bool torn;
        using (var temp = TempFile.For(Path.GetDirectoryName(path)!, Path.GetFileName(path), "copy"))
        {
            using var copy = new FileStream(temp.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
            var buffer = new byte[1 << 20];
            var last = (byte)'\n';
            position = CopyUpToEnd(handle, copy, buffer, position, ref last);
            Fsync.File(copy);
            var probe = (int)Math.Min(ProbeBytes, position - from);
            var copyInode = StatOf(copy, temp.Path).Inode;
            (state with { Truncate = new PendingTruncate(copyInode, from, probe, HashAt(handle, from, probe)) }).Save(job.Folder);
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
        var outcome = await ArchiveRotatedAsync(job, path, RotationMethod.CopyTruncate, cancellationToken).ConfigureAwait(false);
        return outcome with
        {
            LossWindowMicroseconds = window,
            Warning = Join(outcome.Warning, string.Create(CultureInfo.InvariantCulture, $"copytruncate: the file was truncated {window} µs after the last copy; lines written in that window are lost")
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

        var rotated = path + RotatingSuffix;
        var truncated = true;
        if (File.Exists(path))
        {
            using var live = OpenLog(path, FileAccess.Read);
            truncated = live.Length < pending.From + pending.ProbeLength || HashAt(live.SafeFileHandle, pending.From, pending.ProbeLength) != pending.Head;
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

    /// <summary>
    /// Archives the renamed (or copied) file beside <paramref name="path"/> from what its own state says is archived,
    /// then deletes it, unless the app still writes to it (it has not reopened): then it stays, and what the app adds
    /// is archived by the next run.
    /// </summary>
    private async Task<LogOutcome> ArchiveRotatedAsync(JobConfig job, string path, RotationMethod? method, CancellationToken cancellationToken)
    {
        var rotated = path + RotatingSuffix;
        LogOutcome outcome;
        long end;
        ArchivedHead? head;
        LogState state;
        using (var file = OpenLog(rotated, FileAccess.Read))
        {
            var stat = StatOf(file, rotated);
            state = LogState.Read(job.Folder, rotated).Settled();
            if (state.Inode != stat.Inode)
            {
                state = new LogState { Path = rotated, Inode = stat.Inode };
            }

            // An app that never reopened keeps writing here, and may empty this file as well when it restarts.
            string? warning = null;
            if (state.HeadReplaced(file.SafeFileHandle))
            {
                warning = HeadReplacedWarning(rotated, state.Archived);
                state = state.NothingArchived();
            }

            end = file.Length;
            head = ArchivedHead.Of(file.SafeFileHandle, 0, end);
            var before = state;
            outcome = end > state.Archived
                ? await ArchiveAsync(job, path, new FileRegionStream(file.SafeFileHandle, state.Archived, end), final => (before with { Archive = new PendingArchive(final, end, head) }).Save(job.Folder), cancellationToken).ConfigureAwait(false) with { Method = method }
                : new LogOutcome(path, LogStatus.Empty, method);
            outcome = outcome with { Warning = Join(warning, outcome.Warning) };
        }

        var stillWritten = LogWriters.Find(rotated);
        if (stillWritten.Count > 0 || new FileInfo(rotated).Length != end)
        {
            (state with { Archived = end, Head = head }).Save(job.Folder);
            var who = stillWritten.Count > 0 ? $"pid {stillWritten[0].Pid} ({stillWritten[0].Name})" : "the app";
            return outcome with { Warning = Join(outcome.Warning, $"{who} still writes to {rotated}: it has not reopened {path}; what it adds there is archived by the next run") };
        }

        File.Delete(rotated);
        LogState.Delete(job.Folder, rotated);
        Fsync.Directory(Path.GetDirectoryName(path)!);
        return outcome;
    }

    /// <summary>
    /// Settles a signal rotation killed between its rename and the fresh file: the log's name is gone and the app, never
    /// told, still writes to the renamed file. That file gets its name back with what its state says is archived (as when
    /// telling the app fails), so the log goes on under its name and this run rotates it as usual.
    /// </summary>
    private static void TakeBackUntoldRename(JobConfig job, string path)
    {
        var rotated = path + RotatingSuffix;
        if (File.Exists(path) || !File.Exists(rotated) || LogWriters.Find(rotated).Count == 0)
        {
            return;
        }

        (LogState.Read(job.Folder, rotated) with { Path = path }).Save(job.Folder);
        File.Move(rotated, path);
        LogState.Delete(job.Folder, rotated);
    }

    /// <summary>Removes copies a copytruncate left half-written under a temp name beside the log.</summary>
    private static void DeleteHalfCopies(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        foreach (var file in Directory.EnumerateFiles(folder, $".{Path.GetFileName(path)}.cellar-tmp-*"))
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Writes <paramref name="source"/> as an archive of <paramref name="path"/>: compressed, fsynced, verified, with its
    /// sidecar. <paramref name="beforePublish"/> runs with the final name just before the archive takes it.
    /// </summary>
    private async Task<LogOutcome> ArchiveAsync(JobConfig job, string path, Stream source, Action<string> beforePublish, CancellationToken cancellationToken)

    {
        var started = time.GetTimestamp();
        var now = time.GetUtcNow();
        var tag = job.FileName.HasTag ? Path.GetFileNameWithoutExtension(path) : null;
        var slug = tag is null ? null : Slug.From(tag);
        var finalPath = BackupCatalog.FreePath(job, TimeZoneInfo.ConvertTime(now, zone).DateTime, slug);
        var codec = Codec.For(job.Compression, job.CompressionLevel);
        using var stored = TempFile.For(job.Folder, Path.GetFileName(finalPath));
        using var text = new LogText(source);
        var (sha, size) = await CompressedFile.WriteAsync(text, stored.Path, codec, null, cancellationToken).ConfigureAwait(false);
        var problem = await Task.Run(() => CompressedFile.Mismatch(stored.Path, codec, text.HexHash(), text.Bytes, "log", cancellationToken), cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            throw new CellarException($"verification failed: {problem}; archive not kept");
        }

        var sidecar = new Sidecar
        {
            Kind = Sidecar.LogKind,
            Job = job.Name,
            Database = job.Database.Name,
            Tag = tag,
            TagSlug = slug,
            Created = now,
            SourcePath = path,
            SourceBytes = text.Bytes,
            RowCounts = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["lines"] = text.Lines },
            Sha256 = sha,
            SizeBytes = size,
            Compression = codec.Kind.ToString().ToLowerInvariant(),
            Verified = true,
            DurationMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
            CellarVersion = SnapshotBackup.CellarVersion,
        };
        beforePublish(finalPath);
        sidecar.Publish(stored, finalPath);
        var warning = text.NulBytes == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"{text.NulBytes} NUL bytes in {path} were left out of the archive: a hole left by a writer without O_APPEND after an earlier rotation; open the log with O_APPEND (Node: flags: 'a')");
        return new LogOutcome(path, LogStatus.Rotated, null, finalPath, text.Bytes, text.Lines, Warning: warning, ArchiveSidecar: sidecar);
    }

    /// <summary>
    /// Settles a collapse a crash interrupted: the file's head shows whether it happened. Appends only ever add to
    /// the end, so without the collapse the head still hashes as before; with it, as the bytes that followed the cut.
    /// </summary>
    private static LogState Recover(LogState state, SafeFileHandle handle)
    {
        if (state.Pending is not { } pending)
        {
            return state;
        }

        // The state saved with the pending collapse already holds the probe of the uncut head; a head that matches
        // neither hash was emptied by someone else since, which that probe then shows.
        var size = RandomAccess.GetLength(handle);
        var collapsed = size < pending.ArchivedBefore
            || (HashAt(handle, 0, pending.ProbeLength) is var head && head == pending.HeadAfter && head != pending.HeadBefore);
        return collapsed
            ? state with { Archived = pending.ArchivedBefore - pending.Bytes, Head = pending.Retained, Pending = null }
            : state with { Archived = pending.ArchivedBefore, Pending = null };
    }

    /// <summary>The offset just past the last line break in [<paramref name="from"/>, <paramref name="to"/>), or <paramref name="from"/> when there is none.</summary>
    private static long LineEnd(SafeFileHandle handle, long from, long to)
    {
        var buffer = new byte[1 << 16];
        for (var end = to; end > from;)
        {
            var start = Math.Max(from, end - buffer.Length);
            var chunk = buffer.AsSpan(0, (int)(end - start));
            var read = RandomAccess.Read(handle, chunk, start);
            var last = chunk[..read].LastIndexOf((byte)'\n');
            if (last >= 0)
            {
                return start + last + 1;
            }

            end = start;
        }

        return from;
    }

    private static string HashAt(SafeFileHandle handle, long offset, int length)
    {
        var bytes = new byte[length];
        var read = RandomAccess.Read(handle, bytes, offset);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, read)));
    }

    /// <summary>
    /// Opens a log without following a link planted under its name: rotation cuts and truncates what it opens, and as
    /// root in the app's log folder a link swapped in after any check by name could point it at any file.
    /// </summary>
    private static FileStream OpenLog(string path, FileAccess access)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete, 1);
        }

        try
        {
            return new FileStream(UnixFiles.OpenNoFollow(path, access == FileAccess.Read ? NativeMethods.ORdonly : NativeMethods.ORdwr), access, 1);
        }
        catch (IOException e) when (e.HResult == UnixFiles.ELoop)
        {
            throw new CellarException($"{path} is a symbolic link; name the log file itself in the job", e);
        }
    }

    /// <summary>What was opened (a regular file, or the rotation stops), whatever its name points to by now.</summary>
    private static UnixFiles.FileStat StatOf(FileStream file, string path) =>
        UnixFiles.FStat(file.SafeFileHandle) is { } stat
            ? stat.IsRegularFile ? stat : throw new CellarException($"{path} is {stat.TypeName}, not a regular file")
            : throw new CellarException($"cannot read the status of {path}");

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

        return StatOf(created, path);
    }

    /// <summary>Tells the app to reopen its log: the configured signal to the pid in the pid file, or a POST to the URL.</summary>
    private static async Task NotifyAsync(JobConfig job, string path, IReadOnlyList<LogWriter> writers, CancellationToken cancellationToken)
    {
        if (job.PidFile is { } pidFile)
        {
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 1)
            {
                throw new CellarException($"pid file {pidFile} does not hold the pid of the app writing the log");
            }

            // A stale pid file (or one the app's user rewrote) must not make Cellar signal an unrelated process.
            if (writers.Count > 0 && writers.All(w => w.Pid != pid))
            {
                throw new CellarException($"pid {pid} (from {pidFile}) does not write {path} (pid {writers[0].Pid}, {writers[0].Name}, does); not signalling it");
            }

            if (NativeMethods.Kill(pid, job.ReopenSignal) != 0)
            {
                throw new CellarException($"cannot signal pid {pid} (from {pidFile}) to reopen its log: {UnixFiles.Describe(Marshal.GetLastPInvokeError())}");
            }

            return;
        }

        try
        {
            using var http = new HttpClient { Timeout = ReopenWait };
            using var response = await http.PostAsync(job.ReopenUrl, content: null, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new CellarException($"{job.ReopenUrl} answered {(int)response.StatusCode} to the request to reopen the log");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new CellarException($"cannot ask the app to reopen its log at {job.ReopenUrl}: {(e is TaskCanceledException ? $"no answer within {ReopenWait.TotalSeconds:0} s" : e.Message)}", e);
        }
    }

    /// <summary>Waits until the app writes to the new file: its descriptors on the old one are gone, or (when it cannot be seen) the old one stops growing.</summary>
    private static async Task WaitForReopenAsync(string path, string rotated, bool writerVisible, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        var lastSize = new FileInfo(rotated).Length;
        while (true)
        {
            if (writerVisible ? LogWriters.Find(rotated).Count == 0 : quiet.Elapsed >= QuietPeriod)
            {
                return;
            }

            if (clock.Elapsed > ReopenWait)
            {
                throw new CellarException($"the app did not reopen {path} within {ReopenWait.TotalSeconds:0} s; {rotated} is kept and archived by the next run");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            var size = new FileInfo(rotated).Length;
            if (size != lastSize)
            {
                lastSize = size;
                quiet.Restart();
            }
        }
    }

    private void Log(LogOutcome outcome)
    {
        var method = outcome.Method?.ToString().ToLowerInvariant() ?? "-";
        var status = outcome.Status.ToString().ToLowerInvariant();
        LogRotated(logger, outcome.LogPath, status, method, outcome.Archive ?? "-", outcome.Bytes);
        if (outcome.Warning is { } warning)
        {
            LogWarning(logger, outcome.LogPath, warning);
        }
    }

    private static string HeadReplacedWarning(string path, long archived) => string.Create(CultureInfo.InvariantCulture,
        $"{path} no longer starts with the {archived} bytes already archived: something else emptied it since the last rotation (': > file', or an app opening it with O_TRUNC); archived from its start");

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : $"{a}; {b}";

    [LoggerMessage(Level = LogLevel.Information, Message = "log {Path}: {Status} by {Method} into {Archive} ({Bytes} bytes)")]
    private static partial void LogRotated(ILogger logger, string path, string status, string method, string archive, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "log {Path}: {Warning}")]
    private static partial void LogWarning(ILogger logger, string path, string warning);
}

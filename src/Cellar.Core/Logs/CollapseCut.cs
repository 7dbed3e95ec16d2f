using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// <b>collapse</b> (ext4, XFS): archives the complete lines past the archived head, then
/// <c>fallocate(FALLOC_FL_COLLAPSE_RANGE)</c> cuts them off in place, block-aligned, while the app keeps appending.
/// The few archived bytes of the last partial block stay at the head and are remembered in <see cref="LogState"/>, so
/// nothing is archived twice; the cut is recorded as pending first, so a crash on either side of it is settled by
/// <see cref="LogRecovery.SettleCollapse"/>.
/// </summary>
internal sealed class CollapseCut(LogArchiver archiver) : ILogCut
{
    private const int EInval = 22;
    private const int ENotSupported = 95;

    public async Task<LogOutcome> CutAsync(LiveLog log, CancellationToken cancellationToken)
    {
        var (job, path, live, _, state, _) = log;
        var blockSize = log.Stat.BlockSize;
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
        var archive = await archiver.ArchiveAsync(job, path, new FileRegionStream(handle, state.Archived, cut), final => (before with { Archive = new PendingArchive(final, cut, head) }).Save(job.Folder), cancellationToken).ConfigureAwait(false);
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

        var probe = (int)Math.Min(LogFile.ProbeBytes, size - bytes);
        var pending = new PendingCollapse(bytes, cut, probe, LogFile.HashAt(handle, 0, probe), LogFile.HashAt(handle, bytes, probe), ArchivedHead.Of(handle, bytes, cut));
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
}

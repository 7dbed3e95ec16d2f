using System.Diagnostics;
using System.Reflection;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Verification;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Snapshots;

/// <summary>
/// Makes one snapshot backup: copy under a read transaction, compress on every core into a temp file,
/// fsync, prove it restorable, write the sidecar, and only then give it its final name. A crash at any
/// point leaves the old state plus hidden temp files that the next run sweeps, never a file under a
/// final name that is not a complete, verified backup.
/// </summary>
internal sealed class SnapshotBackup(TimeProvider time, ILogger? notices)
{
    /// <summary>The version written into sidecars.</summary>
    public static readonly string CellarVersion =
        typeof(SnapshotBackup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public async Task<(string Path, Sidecar Sidecar)> RunAsync(JobConfig job, TimeZoneInfo zone, string? tag, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var slug = tag is null ? null : Slug.From(tag);

        // The backup is named after the moment its read transaction began, which can be later than now when a
        // rollback-journal writer keeps the lock: a restore --at must never pick a backup holding later commits.
        using var copy = TempFile.For(job.Folder, job.Name, "db");
        var snapshot = await SqliteSnapshot.CopyAsync(
            job.Database.Path, copy.Path, time, Stage(progress, "snapshot"), notices, cancellationToken).ConfigureAwait(false);
        CrashPoint.Reach(CrashPoint.SnapshotCopied, cancellationToken);
        var created = snapshot.Taken;
        var finalPath = BackupCatalog.FreePath(job, TimeZoneInfo.ConvertTime(created, zone).DateTime, slug);
        var name = Path.GetFileName(finalPath);

        // The snapshot is inspected (integrity_check, foreign keys, row counts) while it is being compressed: the
        // two read the same file and together keep every core busy. Then the stored bytes must decompress to
        // exactly the snapshot, which proves the stored file restores to what was inspected.
        var inspecting = Task.Run(() => Inspection.Of(copy.Path, cancellationToken), cancellationToken);
        using var stored = TempFile.For(job.Folder, name);
        var codec = Codec.For(job.Compression, job.CompressionLevel);
        string sha;
        long size;
        try
        {
            await using (var input = new FileStream(copy.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            {
                var compress = Stage(progress, "compress");
                var total = snapshot.Bytes;
                var read = compress is null ? null : new InlineProgress<long>(n => compress.Report(total == 0 ? 1 : (double)n / total));
                (sha, size) = await CompressedFile.WriteAsync(input, stored.Path, codec, read, cancellationToken).ConfigureAwait(false);
            }

            CrashPoint.Reach(CrashPoint.BackupWritten, cancellationToken);
            await Task.Run(() => CompareExpanded(stored.Path, copy.Path, codec, snapshot.Bytes, Stage(progress, "verify"), cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Never leave the inspection reading a file that is about to be deleted; the first error is the one to report.
            await inspecting.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        var inspection = await inspecting.ConfigureAwait(false);
        if (inspection.Integrity != "ok")
        {
            throw new CellarException($"snapshot of {job.Database.Path} fails integrity_check ({inspection.Integrity}); the live database may be damaged, backup not kept");
        }

        var sidecar = new Sidecar
        {
            Job = job.Name,
            Database = job.Database.Name,
            Tag = tag,
            TagSlug = slug,
            Created = created,
            SourcePath = job.Database.Path,
            SourcePageSize = snapshot.PageSize,
            SourcePageCount = snapshot.PageCount,
            SourceBytes = snapshot.Bytes,
            JournalMode = snapshot.JournalMode,
            RowCounts = inspection.RowCounts,
            ForeignKeyViolations = inspection.ForeignKeyViolations,
            Sha256 = sha,
            SizeBytes = size,
            Compression = codec.Kind.ToString().ToLowerInvariant(),
            Verified = true,
            DurationMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
            WritersHeldOffMs = snapshot.WritersHeldOff is { } held ? (long)held.TotalMilliseconds : null,
            CellarVersion = CellarVersion,
        };

        sidecar.Publish(stored, finalPath);
        return (finalPath, sidecar);
    }

    private static void CompareExpanded(string storedPath, string copyPath, Codec codec, long total, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        using var expanded = codec.OpenRead(new FileStream(storedPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan));
        using var original = new FileStream(copyPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var a = new byte[1 << 20];
        var b = new byte[1 << 20];
        long offset = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int readA;
            try
            {
                readA = expanded.ReadAtLeast(a, a.Length, throwOnEndOfStream: false);
            }
            catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
            {
                // A damaged gzip member or zstd frame stops the decoder before any compare: the same failed proof.
                throw new CellarException($"verification failed: the stored backup does not decompress after byte {offset} ({e.Message}); backup not kept", e);
            }

            var readB = original.ReadAtLeast(b, b.Length, throwOnEndOfStream: false);
            if (readA != readB || !a.AsSpan(0, readA).SequenceEqual(b.AsSpan(0, readB)))
            {
                throw new CellarException($"verification failed: the stored backup does not decompress to the snapshot (differs after byte {offset}); backup not kept");
            }

            if (readA == 0)
            {
                return;
            }

            offset += readA;
            progress?.Report(total == 0 ? 1 : (double)offset / total);
        }
    }

    internal static IProgress<double>? Stage(IProgress<JobProgress>? progress, string stage) =>
        progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress(stage, f)));
}

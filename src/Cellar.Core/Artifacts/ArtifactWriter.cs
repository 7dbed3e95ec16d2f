using System.Reflection;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Artifacts;

/// <summary>
/// The one path every artifact takes, whatever its kind: named after the moment its content was taken, written
/// compressed and hashed into a hidden temp file in the job's folder, fsynced, proven by its kind, described by its
/// sidecar, and only then given its final name (sidecar first). A crash at any point leaves the old state plus hidden
/// temp files (or an orphan sidecar) that the next run sweeps, never a file under a final name that is not a complete,
/// verified artifact. A kind supplies only what differs, as an <see cref="ArtifactSource"/>.
/// </summary>
internal sealed class ArtifactWriter(TimeProvider time)
{
    /// <summary>The version written into sidecars.</summary>
    public static readonly string CellarVersion =
        typeof(ArtifactWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// Writes what <paramref name="source"/> produces as a new artifact of <paramref name="job"/>; returns its final
    /// path and sidecar. A failed proof throws "verification failed: PROBLEM; backup not kept" (or archive, per kind).
    /// </summary>
    public async Task<(string Path, Sidecar Sidecar)> WriteAsync(JobConfig job, TimeZoneInfo zone, string? tag, ArtifactSource source, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var slug = tag is null ? null : Slug.From(tag);
        var taken = await source.TakeAsync(cancellationToken).ConfigureAwait(false);

        // Named after the moment the content shows, which can be later than now when a rollback-journal writer kept the
        // lock: a restore --at must never pick a backup holding later commits.
        var finalPath = BackupCatalog.FreePath(job, TimeZoneInfo.ConvertTime(taken, zone).DateTime, slug);
        using var stored = TempFile.For(job.Folder, Path.GetFileName(finalPath));
        var target = new ArtifactTarget(job.Folder, Path.GetFileName(finalPath), stored.Path, Codec.For(job.Compression, job.CompressionLevel));
        string sha;
        long size;
        try
        {
            (sha, size) = await source.StoreAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (UnsoundBlockException e)
        {
            throw Unproven(e.Message, source, e);
        }

        CrashPoint.Reach(CrashPoint.BackupWritten, cancellationToken);
        FaultInjection.StoredWritten?.Invoke(stored.Path);
        if (await OwnThread.Run(() => target.Changed(cancellationToken), cancellationToken).ConfigureAwait(false) is { } changed)
        {
            throw Unproven(changed, source);
        }

        if (await source.ProveAsync(target, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            throw Unproven(problem, source);
        }

        var sidecar = source.Describe(new Sidecar
        {
            Kind = source.Kind.Recorded,
            Job = job.Name,
            Database = job.Database.Name,
            Tag = tag,
            TagSlug = slug,
            Created = taken,
            SourcePath = job.Database.Path,
            RowCounts = new SortedDictionary<string, long>(StringComparer.Ordinal),
            Sha256 = sha,
            SizeBytes = size,
            Compression = target.Codec.Name,
            Verified = true,
            DurationMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
            CellarVersion = CellarVersion,
        });
        source.BeforePublish(finalPath);
        sidecar.Publish(stored, finalPath);
        return (finalPath, sidecar);
    }

    private static CellarException Unproven(string problem, ArtifactSource source, Exception? inner = null) =>
        new($"verification failed: {problem}; {source.Kind.Noun} not kept", inner);
}

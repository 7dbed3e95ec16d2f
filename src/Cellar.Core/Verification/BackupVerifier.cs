using Cellar.Core.Artifacts;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Verification;

/// <summary>
/// The restore drill for a stored backup: size against the sidecar, then the proof of the kind the sidecar names
/// (<see cref="ArtifactKind.ProveAsync"/>: decompress in full with the checksum on the way, then for a snapshot
/// <c>integrity_check</c>, <c>foreign_key_check</c> and row counts, for a dump a load and its row counts, for a log
/// archive its bytes and lines). Catches bit rot, truncation and tampering alike.
/// </summary>
public static class BackupVerifier
{
    /// <summary>
    /// Checks a stored backup; the result lists every problem found (empty when sound). A backup of
    /// <paramref name="job"/> is checked under its folder's lock (so a concurrent run's sweep never removes the file
    /// being checked), expanded beside it, and the outcome is recorded in the folder's <see cref="CheckLedger"/>. Any
    /// other file is checked where it lies, without a lock and with the expanded copy in the temp folder: Cellar
    /// creates files only in backup folders.
    /// </summary>
    public static async Task<VerificationResult> VerifyAsync(string backupPath, JobConfig? job, TimeProvider time, IProgress<double>? progress, ILogger? notices, CancellationToken cancellationToken)
    {
        if (job is null)
        {
            using var loose = TempFile.For(Path.GetTempPath(), Path.GetFileName(backupPath), "verify");
            return await ExpandAndCheckAsync(backupPath, loose.Path, progress, cancellationToken).ConfigureAwait(false);
        }

        using var folderLock = await TryLockAsync(job.Folder, time, notices, cancellationToken).ConfigureAwait(false);
        var writable = folderLock is not null && IsWritable(job.Folder);
        using var expanded = TempFile.For(writable ? job.Folder : Path.GetTempPath(), Path.GetFileName(backupPath), "verify");
        var result = await ExpandAndCheckAsync(backupPath, expanded.Path, progress, cancellationToken).ConfigureAwait(false);
        if (writable && File.Exists(backupPath))
        {
            CheckLedger.Record(backupPath, RecordOf(result, time));
        }

        return result;
    }

    /// <summary>
    /// Records in the ledger of <paramref name="job"/>'s folder what a check elsewhere (a restore's, on the way in) found
    /// of <paramref name="backupPath"/>, under the folder's lock.
    /// </summary>
    public static async Task RecordAsync(string backupPath, JobConfig job, VerificationResult result, TimeProvider time, ILogger? notices, CancellationToken cancellationToken)
    {
        using var folderLock = await FolderLock.AcquireAsync(job.Folder, time, cancellationToken, notices: notices).ConfigureAwait(false);
        CheckLedger.Record(backupPath, RecordOf(result, time));
    }

    private static CheckRecord RecordOf(VerificationResult result, TimeProvider time) =>
        new(time.GetUtcNow(), result.Ok, result.Ok ? null : result.Problems[0], result.Sidecar?.Sha256);

    /// <summary>
    /// Checks a stored backup by expanding it into <paramref name="expandedPath"/>, which the caller owns: a
    /// restore keeps it as the file it moves into place, so what was checked is exactly what is restored. What is
    /// common to every kind is checked here (the sidecar, the size, the codec it records); the rest is the proof of
    /// the kind the sidecar names.
    /// </summary>
    internal static async Task<VerificationResult> ExpandAndCheckAsync(string backupPath, string expandedPath, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(backupPath))
        {
            return VerificationResult.Failed(backupPath, "file does not exist");
        }

        Sidecar? sidecar;
        try
        {
            sidecar = Sidecar.TryRead(backupPath);
        }
        catch (InvalidDataException e)
        {
            return VerificationResult.Failed(backupPath, e.Message);
        }

        if (sidecar is null)
        {
            return VerificationResult.Failed(backupPath, "sidecar missing: checksum and row counts cannot be checked");
        }

        var size = new FileInfo(backupPath).Length;
        if (size != sidecar.SizeBytes)
        {
            return VerificationResult.Rotten(backupPath, $"size is {size} bytes, the sidecar says {sidecar.SizeBytes} (truncated or replaced)", sidecar);
        }

        if (ArtifactKinds.Of(sidecar) is not { } kind)
        {
            return VerificationResult.Failed(backupPath, $"its sidecar says it is a '{sidecar.Kind}', which this version of Cellar does not know", sidecar);
        }

        if (Codec.Named(sidecar.Compression) is not { } codec)
        {
            return VerificationResult.Failed(backupPath, $"its sidecar says it is compressed with '{sidecar.Compression}', which this version of Cellar cannot read", sidecar);
        }

        return await kind.ProveAsync(new StoredArtifact(backupPath, sidecar, codec), expandedPath, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The folder's lock where it can be had; a read-only folder has no run to race with.</summary>
    private static async Task<FolderLock?> TryLockAsync(string folder, TimeProvider time, ILogger? notices, CancellationToken cancellationToken)
    {
        try
        {
            return await FolderLock.AcquireAsync(folder, time, cancellationToken, notices: notices).ConfigureAwait(false);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return null;
        }
    }

    /// <summary>Whether files can be created in <paramref name="folder"/> (a backup folder on a read-only mount cannot take the expanded copy or a record).</summary>
    private static bool IsWritable(string folder)
    {
        try
        {
            using var probe = TempFile.For(folder, "probe");
            File.WriteAllBytes(probe.Path, []);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}

using System.Security.Cryptography;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Verification;

/// <summary>
/// The restore drill for a stored backup: checksum and size against the sidecar, decompress in full,
/// then <c>integrity_check</c>, <c>foreign_key_check</c> and row counts against the sidecar. Catches bit
/// rot, truncation and tampering alike.
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
    /// restore keeps it as the file it moves into place, so what was checked is exactly what is restored.
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

        if (sidecar.IsLog)
        {
            return await Task.Run(() => CheckLog(backupPath, sidecar, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        if (sidecar.IsDump)
        {
            return await CheckDumpAsync(backupPath, expandedPath, sidecar, progress, cancellationToken).ConfigureAwait(false);
        }

        string sha;
        UnixFiles.FileId? expanded;
        try
        {
            (sha, expanded) = await ExpandAsync(backupPath, expandedPath, Codec.ForFileName(backupPath), sidecar, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            return Undecodable(backupPath, sidecar, e);
        }

        if (!string.Equals(sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return ChecksumMismatch(backupPath, sha, sidecar);
        }

        CrashPoint.Reach(CrashPoint.VerifyExpanded, cancellationToken);
        try
        {
            SqliteFiles.RequireDatabase(expandedPath, "decompressed backup");
            var inspection = Inspection.Of(expandedPath, cancellationToken);
            var problems = inspection.Compare(sidecar.RowCounts, sidecar.ForeignKeyViolations).ToList();
            return new VerificationResult(backupPath, problems, sidecar) { Expanded = expanded };
        }
        catch (Exception e) when (e is CellarException or Microsoft.Data.Sqlite.SqliteException)
        {
            return VerificationResult.Failed(backupPath, e.Message, sidecar);
        }
    }

    /// <summary>A dump is proven by loading it: the checksum is taken on the way, then the loaded tables are counted.</summary>
    private static async Task<VerificationResult> CheckDumpAsync(string backupPath, string scratchPath, Sidecar sidecar, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        // The checks sit inside the try, after the load: a variable assigned in a try and read after it is one that
        // mutation testing cannot mutate around (a removed statement leaves it unassigned), which hid this method.
        try
        {
            var loaded = await Task.Run(() => DumpLoad.Into(backupPath, scratchPath, Codec.ForFileName(backupPath), ExpandedLimit(sidecar), progress, cancellationToken), cancellationToken).ConfigureAwait(false);
            return !string.Equals(loaded.Sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase)
                ? ChecksumMismatch(backupPath, loaded.Sha, sidecar)
                : new VerificationResult(backupPath, Inspection.CompareCounts(loaded.Counts, sidecar.RowCounts, "the dump").ToList(), sidecar);
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
        {
            return Undecodable(backupPath, sidecar, e, "does not load");
        }
        catch (IOException e)
        {
            throw CannotWrite(scratchPath, e);
        }
    }

    /// <summary>A log archive is proven by decompressing it in full: checksum, then bytes and lines against the sidecar.</summary>
    private static VerificationResult CheckLog(string backupPath, Sidecar sidecar, CancellationToken cancellationToken)
    {
        using var file = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        using var hashing = new HashingStream(file, leaveOpen: true);
        long bytes = 0;
        long lines = 0;
        string sha;
        try
        {
            // The decompressor disposes the hashing stream with itself: the hash is taken before.
            using var text = new BoundedStream(Codec.ForFileName(backupPath).OpenRead(hashing), ExpandedLimit(sidecar), "its sidecar records");
            var buffer = new byte[1 << 20];
            int read;
            while ((read = text.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bytes += read;
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }

            hashing.CopyTo(Stream.Null);
            sha = hashing.HexHash();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            return Undecodable(backupPath, sidecar, e);
        }

        if (!string.Equals(sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return ChecksumMismatch(backupPath, sha, sidecar);
        }

        var expectedLines = sidecar.RowCounts.TryGetValue("lines", out var l) ? l : lines;
        return bytes == sidecar.SourceBytes && lines == expectedLines
            ? new VerificationResult(backupPath, [], sidecar)
            : VerificationResult.Rotten(backupPath, $"holds {bytes} bytes in {lines} lines, the sidecar says {sidecar.SourceBytes} in {expectedLines}", sidecar);
    }

    /// <summary>
    /// A stored file that cannot be decompressed or loaded. Said as "checksum mismatch" when its bytes are not the ones
    /// written (the usual cause: bit rot, truncation, tampering), which a decompressor's own message never makes clear.
    /// </summary>
    private static VerificationResult Undecodable(string backupPath, Sidecar sidecar, Exception e, string what = "cannot be decompressed")
    {
        string sha;
        try
        {
            using var file = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            sha = Convert.ToHexStringLower(SHA256.HashData(file));
        }
        catch (IOException)
        {
            return VerificationResult.Rotten(backupPath, $"{what}: {e.Message}", sidecar);
        }

        return string.Equals(sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase)
            ? VerificationResult.Rotten(backupPath, $"{what}: {e.Message}", sidecar)
            : ChecksumMismatch(backupPath, sha, sidecar);
    }

    /// <summary>
    /// The most a stored file may expand to: what its sidecar records. Dump sidecars written before they recorded it
    /// get deflate's largest possible ratio (1032:1), far above any real dump's.
    /// </summary>
    internal static long ExpandedLimit(Sidecar sidecar) => sidecar.SourceBytes > 0 || !sidecar.IsDump ? sidecar.SourceBytes : (sidecar.SizeBytes * 1032) + (1 << 20);

    private static VerificationResult ChecksumMismatch(string backupPath, string sha, Sidecar sidecar) =>
        VerificationResult.Rotten(backupPath, $"checksum mismatch: sha256 {sha[..12]}…, the sidecar says {sidecar.Sha256[..Math.Min(12, sidecar.Sha256.Length)]}…", sidecar);

    /// <summary>Decompresses while hashing the compressed bytes, so the file is read once.</summary>
    private static async Task<(string Sha, UnixFiles.FileId? Expanded)> ExpandAsync(string backupPath, string expandedPath, Codec codec, Sidecar sidecar, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var size = sidecar.SizeBytes;
        await using var file = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var hashing = new HashingStream(file, leaveOpen: true);
        await using var decompressed = new BoundedStream(codec.OpenRead(hashing), ExpandedLimit(sidecar), "its sidecar records");
        // Where the copy goes is this machine's problem (a full or read-only disk), not the backup's: those errors
        // are reported as such, never as a bad backup.
        FileStream output;
        UnixFiles.FileId? expanded;
        try
        {
            output = SecureFiles.CreateNew(expandedPath);
            expanded = UnixFiles.FStat(output.SafeFileHandle)?.Id;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CannotWrite(expandedPath, e);
        }

        await using (output)
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await decompressed.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                try
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw CannotWrite(expandedPath, e);
                }

                progress?.Report(size == 0 ? 1 : (double)hashing.BytesHashed / size);
            }

            try
            {
                Fsync.File(output);
            }
            catch (IOException e)
            {
                throw CannotWrite(expandedPath, e);
            }
        }

        // A decompressor may stop before the end of the file (trailing garbage after the last member): hash it too.
        while (await hashing.ReadAsync(buffer: new byte[1 << 16], cancellationToken).ConfigureAwait(false) > 0)
        {
        }

        return (hashing.HexHash(), expanded);
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

    private static CellarException CannotWrite(string path, Exception e) => new($"cannot write the decompressed copy {path}: {e.Message}", e);
}

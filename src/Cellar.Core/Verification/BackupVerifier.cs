using System.Security.Cryptography;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;

namespace Cellar.Core.Verification;

/// <summary>
/// The restore drill for a stored backup: checksum and size against the sidecar, decompress in full,
/// then <c>integrity_check</c>, <c>foreign_key_check</c> and row counts against the sidecar. Catches bit
/// rot, truncation and tampering alike.
/// </summary>
public static class BackupVerifier
{
    /// <summary>
    /// Checks a stored backup; the result lists every problem found (empty when sound). It takes the folder's
    /// lock, so a concurrent run's sweep never removes the file being checked.
    /// </summary>
    public static async Task<VerificationResult> VerifyAsync(string backupPath, TimeProvider time, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(backupPath))!;
        using var folderLock = await TryLockAsync(folder, time, cancellationToken).ConfigureAwait(false);
        using var expanded = TempFile.For(WritableFolder(folder), Path.GetFileName(backupPath), "verify");
        return await ExpandAndCheckAsync(backupPath, expanded.Path, progress, cancellationToken).ConfigureAwait(false);
    }

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
            return VerificationResult.Failed(backupPath, $"size is {size} bytes, the sidecar says {sidecar.SizeBytes} (truncated or replaced)", sidecar);
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
        try
        {
            sha = await ExpandAsync(backupPath, expandedPath, Codec.ForFileName(backupPath), size, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            return VerificationResult.Failed(backupPath, $"cannot be decompressed: {e.Message}", sidecar);
        }

        if (!string.Equals(sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return ChecksumMismatch(backupPath, sha, sidecar);
        }

        try
        {
            SqliteFiles.RequireDatabase(expandedPath, "decompressed backup");
            var inspection = Inspection.Of(expandedPath, cancellationToken);
            var problems = inspection.Compare(sidecar.RowCounts, sidecar.ForeignKeyViolations).ToList();
            return new VerificationResult(backupPath, problems, sidecar);
        }
        catch (Exception e) when (e is CellarException or Microsoft.Data.Sqlite.SqliteException)
        {
            return VerificationResult.Failed(backupPath, e.Message, sidecar);
        }
    }

    /// <summary>A dump is proven by loading it: the checksum is taken on the way, then the loaded tables are counted.</summary>
    private static async Task<VerificationResult> CheckDumpAsync(string backupPath, string scratchPath, Sidecar sidecar, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        (string Sha, IReadOnlyDictionary<string, long> Counts) loaded;
        try
        {
            loaded = await Task.Run(() => DumpLoad.Into(backupPath, scratchPath, Codec.ForFileName(backupPath), progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
        {
            return VerificationResult.Failed(backupPath, $"does not load: {e.Message}", sidecar);
        }
        catch (IOException e)
        {
            throw CannotWrite(scratchPath, e);
        }

        if (!string.Equals(loaded.Sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return ChecksumMismatch(backupPath, loaded.Sha, sidecar);
        }

        return new VerificationResult(backupPath, Inspection.CompareCounts(loaded.Counts, sidecar.RowCounts, "the dump").ToList(), sidecar);
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
            using var text = Codec.ForFileName(backupPath).OpenRead(hashing);
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
            return VerificationResult.Failed(backupPath, $"cannot be decompressed: {e.Message}", sidecar);
        }

        if (!string.Equals(sha, sidecar.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return ChecksumMismatch(backupPath, sha, sidecar);
        }

        var expectedLines = sidecar.RowCounts.TryGetValue("lines", out var l) ? l : lines;
        return bytes == sidecar.SourceBytes && lines == expectedLines
            ? new VerificationResult(backupPath, [], sidecar)
            : VerificationResult.Failed(backupPath, $"holds {bytes} bytes in {lines} lines, the sidecar says {sidecar.SourceBytes} in {expectedLines}", sidecar);
    }

    private static VerificationResult ChecksumMismatch(string backupPath, string sha, Sidecar sidecar) =>
        VerificationResult.Failed(backupPath, $"checksum mismatch: sha256 {sha[..12]}…, the sidecar says {sidecar.Sha256[..Math.Min(12, sidecar.Sha256.Length)]}…", sidecar);

    /// <summary>Decompresses while hashing the compressed bytes, so the file is read once.</summary>
    private static async Task<string> ExpandAsync(string backupPath, string expandedPath, Codec codec, long size, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var hashing = new HashingStream(file, leaveOpen: true);
        await using var decompressed = codec.OpenRead(hashing);
        // Where the copy goes is this machine's problem (a full or read-only disk), not the backup's: those errors
        // are reported as such, never as a bad backup.
        FileStream output;
        try
        {
            output = SecureFiles.CreateNew(expandedPath);
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

        return hashing.HexHash();
    }

    /// <summary>The folder's lock where it can be had; a read-only folder has no run to race with.</summary>
    private static async Task<FolderLock?> TryLockAsync(string folder, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            return await FolderLock.AcquireAsync(folder, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return null;
        }
    }

    private static CellarException CannotWrite(string path, Exception e) => new($"cannot write the decompressed copy {path}: {e.Message}", e);

    private static string WritableFolder(string folder)
    {
        try
        {
            using var probe = TempFile.For(folder, "probe");
            File.WriteAllBytes(probe.Path, []);
            return folder;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Path.GetTempPath();
        }
    }
}

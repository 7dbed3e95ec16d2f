using System.Security.Cryptography;
using Cellar.Core.IO;

namespace Cellar.Core.Artifacts;

/// <summary>The pieces every kind's proof of a stored file is built from, so each says a bad file the same way.</summary>
internal static class StoredProof
{
    /// <summary>
    /// Decompresses <paramref name="stored"/> into the new file <paramref name="expandedPath"/> while hashing the
    /// compressed bytes, so the file is read once; returns that hash and the expanded file as created (device and
    /// inode). More than <paramref name="limit"/> bytes out is a bad file, as is anything the codec cannot read; a file
    /// that cannot be written here (a full or read-only disk) is this machine's problem, thrown as such.
    /// </summary>
    public static async Task<(string Sha, UnixFiles.FileId? Expanded)> ExpandAsync(StoredArtifact stored, string expandedPath, long limit, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var size = stored.Sidecar.SizeBytes;
        await using var file = new FileStream(stored.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var hashing = new HashingStream(file, leaveOpen: true);
        await using var decompressed = new BoundedStream(stored.Codec.OpenRead(hashing), limit, "its sidecar records");
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

                progress?.Report(size == 0 ? 1 : (double)hashing.Bytes / size);
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

    /// <summary>
    /// Hands <paramref name="read"/> the stored file decompressed (at most <paramref name="limit"/> bytes) while hashing
    /// the stored bytes, then checks that hash against the sidecar. Null when the file decoded and matched; else the
    /// verdict on it (a bad file: what <paramref name="read"/> threw as <see cref="CellarException"/> included).
    /// </summary>
    public static VerificationResult? Decode(StoredArtifact stored, long limit, Action<Stream> read)
    {
        using var file = new FileStream(stored.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        using var hashing = new HashingStream(file, leaveOpen: true);
        string sha;
        try
        {
            // The decompressor disposes the hashing stream with itself: the hash is taken before.
            using var expanded = new BoundedStream(stored.Codec.OpenRead(hashing), limit, "its sidecar records");
            read(expanded);
            hashing.CopyTo(Stream.Null);
            sha = hashing.HexHash();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException or CellarException)
        {
            return Undecodable(stored, e);
        }

        return Matches(sha, stored) ? null : ChecksumMismatch(stored, sha);
    }

    /// <summary>Whether <paramref name="sha"/> is the checksum the sidecar recorded.</summary>
    public static bool Matches(string sha, StoredArtifact stored) => string.Equals(sha, stored.Sidecar.Sha256, StringComparison.OrdinalIgnoreCase);

    /// <summary>The verdict on a stored file whose bytes are not the ones written.</summary>
    public static VerificationResult ChecksumMismatch(StoredArtifact stored, string sha) =>
        VerificationResult.Rotten(stored.Path, $"checksum mismatch: sha256 {sha[..12]}…, the sidecar says {stored.Sidecar.Sha256[..Math.Min(12, stored.Sidecar.Sha256.Length)]}…", stored.Sidecar);

    /// <summary>
    /// A stored file that cannot be decompressed or loaded. Said as "checksum mismatch" when its bytes are not the ones
    /// written (the usual cause: bit rot, truncation, tampering), which a decompressor's own message never makes clear.
    /// </summary>
    public static VerificationResult Undecodable(StoredArtifact stored, Exception e, string what = "cannot be decompressed")
    {
        string sha;
        try
        {
            using var file = new FileStream(stored.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            sha = Convert.ToHexStringLower(SHA256.HashData(file));
        }
        catch (IOException)
        {
            return VerificationResult.Rotten(stored.Path, $"{what}: {e.Message}", stored.Sidecar);
        }

        return Matches(sha, stored) ? VerificationResult.Rotten(stored.Path, $"{what}: {e.Message}", stored.Sidecar) : ChecksumMismatch(stored, sha);
    }

    /// <summary>A scratch file this machine cannot write: never a verdict on the backup.</summary>
    public static CellarException CannotWrite(string path, Exception e) => new($"cannot write the decompressed copy {path}: {e.Message}", e);
}

using Cellar.Core.Catalog;
using Cellar.Core.IO;

namespace Cellar.Core.Artifacts;

/// <summary>The outcome of a restore drill on one file.</summary>
/// <param name="Path">The backup checked.</param>
/// <param name="Problems">What is wrong; empty when the backup is sound.</param>
/// <param name="Sidecar">Its sidecar, when it could be read.</param>
public sealed record VerificationResult(string Path, IReadOnlyList<string> Problems, Sidecar? Sidecar)
{
    /// <summary>
    /// The expanded copy a snapshot's check wrote, as it was created (device and inode): a restore moves exactly that
    /// file into place, and notices when something else has taken its name since.
    /// </summary>
    internal UnixFiles.FileId? Expanded { get; init; }

    /// <summary>
    /// True when the stored file itself is bad: its size or checksum is not the sidecar's, or its bytes do not
    /// decompress to what they held when written. Only such a verdict sticks to the backup (the check ledger, the
    /// next restore's choice); a failure of the expanded copy is the checking machine's (a full disk, a file swapped
    /// by someone else in the folder), and another check may pass.
    /// </summary>
    public bool StoredFileBad { get; private init; }

    /// <summary>True when no problem was found.</summary>
    public bool Ok => Problems.Count == 0;

    internal static VerificationResult Failed(string path, string problem, Sidecar? sidecar = null) => new(path, [problem], sidecar);

    internal static VerificationResult Rotten(string path, string problem, Sidecar sidecar) => new(path, [problem], sidecar) { StoredFileBad = true };
}

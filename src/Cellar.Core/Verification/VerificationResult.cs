using Cellar.Core.Catalog;

namespace Cellar.Core.Verification;

/// <summary>The outcome of a restore drill on one file.</summary>
/// <param name="Path">The backup checked.</param>
/// <param name="Problems">What is wrong; empty when the backup is sound.</param>
/// <param name="Sidecar">Its sidecar, when it could be read.</param>
public sealed record VerificationResult(string Path, IReadOnlyList<string> Problems, Sidecar? Sidecar)
{
    /// <summary>True when no problem was found.</summary>
    public bool Ok => Problems.Count == 0;

    internal static VerificationResult Failed(string path, string problem, Sidecar? sidecar = null) => new(path, [problem], sidecar);
}

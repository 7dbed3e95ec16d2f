using Cellar.Core.Artifacts;

namespace Cellar.Core.Restore;

/// <summary>A restore refused its backup: the check on the way in found it bad (<see cref="Result"/> says how).</summary>
public sealed class BackupRejectedException : CellarException
{
    internal BackupRejectedException(string backupPath, VerificationResult result)
        : base($"refusing to restore {backupPath}: {result.Problems[0]}") => Result = result;

    /// <summary>What the check found.</summary>
    public VerificationResult Result { get; }
}

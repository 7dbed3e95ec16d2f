namespace Cellar.Daemon;

/// <summary>The body of <c>POST /api/admin/jobs/{job}/verify</c>: the backup checked, and what its full check found.</summary>
/// <param name="File">The backup's file name.</param>
/// <param name="Ok">True when the backup passed.</param>
/// <param name="Problems">What is wrong with it; empty when it passed.</param>
internal sealed record VerifyAnswer(string File, bool Ok, IReadOnlyList<string> Problems);

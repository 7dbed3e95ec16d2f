namespace Cellar.Core.IO;

/// <summary>
/// Test seam for faults a test cannot make the kernel produce on demand: an fsync that fails. A test sets
/// <see cref="Fsync"/> for its own async flow (an <see cref="AsyncLocal{T}"/>, so tests running in parallel never see
/// each other's faults); everywhere else it is null and costs one read. The CLI's end-to-end tests inject the same
/// faults with <c>strace -e inject=fsync:error=EIO</c> instead.
/// </summary>
internal static class FaultInjection
{
    private static readonly AsyncLocal<Func<string, int>?> FsyncFault = new();

    /// <summary>Given the path being synced, the errno its fsync should fail with, or 0 to sync for real.</summary>
    public static Func<string, int>? Fsync
    {
        get => FsyncFault.Value;
        set => FsyncFault.Value = value;
    }

    /// <summary>The errno to inject for <paramref name="path"/>, or 0.</summary>
    internal static int FsyncError(string path) => FsyncFault.Value?.Invoke(path) ?? 0;
}

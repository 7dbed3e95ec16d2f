namespace Cellar.Core.IO;

/// <summary>
/// Test seam for faults a test cannot make the kernel produce on demand: an fsync that fails, a compressor that writes
/// other bytes than it should, a stored file changed after it was written, the app's checkpoint and commit in the
/// instant a stream's follower holds no reader. A test sets <see cref="Fsync"/>, <see cref="Compressed"/>,
/// <see cref="StoredWritten"/> or <see cref="ReaderReleased"/> for its own async flow (an
/// <see cref="AsyncLocal{T}"/>, so tests running in parallel never see each other's faults); everywhere else they are
/// null and cost one read. The CLI's end-to-end tests inject fsync faults with <c>strace -e inject=fsync:error=EIO</c>
/// instead.
/// </summary>
internal static class FaultInjection
{
    private static readonly AsyncLocal<Func<string, int>?> FsyncFault = new();
    private static readonly AsyncLocal<Func<byte[], int, int>?> CompressedFault = new();
    private static readonly AsyncLocal<Action?> ReaderReleasedMoment = new();
    private static readonly AsyncLocal<Action<string>?> StoredWrittenMoment = new();

    /// <summary>Given the path being synced, the errno its fsync should fail with, or 0 to sync for real.</summary>
    public static Func<string, int>? Fsync
    {
        get => FsyncFault.Value;
        set => FsyncFault.Value = value;
    }

    /// <summary>The errno to inject for <paramref name="path"/>, or 0.</summary>
    internal static int FsyncError(string path) => FsyncFault.Value?.Invoke(path) ?? 0;

    /// <summary>
    /// Given each block a codec has just compressed (its buffer and length), may change it in place before it is
    /// proven, hashed and written, and returns how much of it is kept: a compressor bug, a bit flipped in RAM or a frame
    /// cut short, which only the proof of each block against what went in can catch.
    /// </summary>
    public static Func<byte[], int, int>? Compressed
    {
        get => CompressedFault.Value;
        set => CompressedFault.Value = value;
    }

    /// <summary>Applies <see cref="Compressed"/>, if set, to one compressed block; the length of it to write.</summary>
    internal static int DamageCompressed(byte[] block, int length) => CompressedFault.Value?.Invoke(block, length) ?? length;

    /// <summary>
    /// Given the temp file an artifact was just written and fsynced to, before it is read back: a test changes a byte
    /// there, as a write gone wrong between the proof of its blocks and the disk would.
    /// </summary>
    public static Action<string>? StoredWritten
    {
        get => StoredWrittenMoment.Value;
        set => StoredWrittenMoment.Value = value;
    }

    /// <summary>
    /// Runs in the moment a stream's follower holds no read transaction on the live database (its own checkpoint), where
    /// the app's own checkpoint and commit could restart the WAL unseen if writers were not held: a test commits there.
    /// </summary>
    public static Action? ReaderReleased
    {
        get => ReaderReleasedMoment.Value;
        set => ReaderReleasedMoment.Value = value;
    }
}

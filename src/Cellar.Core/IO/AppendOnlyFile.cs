using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// A file opened with <c>O_APPEND</c>, so every write lands at the end even when several processes (the daemon
/// and a CLI run) write the same file. .NET's <see cref="FileMode.Append"/> only seeks to the end once and
/// then writes at its own offset, so two writers overwrite each other's lines.
/// </summary>
internal sealed class AppendOnlyFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    private AppendOnlyFile(SafeFileHandle handle) => _handle = handle;

    /// <summary>The inode of the file opened (not of whatever its name points to later); 0 where unknown.</summary>
    public ulong Inode => UnixFiles.FStat(_handle)?.Inode ?? 0;

    /// <summary>
    /// Opens (creating, owner-only) <paramref name="path"/> for appending. A link planted under the name (the log folder
    /// is often the app's own) fails the open: root would otherwise append to a file of the planter's choosing.
    /// </summary>
    public static AppendOnlyFile Open(string path) => OperatingSystem.IsWindows()
        ? new AppendOnlyFile(File.OpenHandle(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        : new AppendOnlyFile(UnixFiles.OpenNoFollow(path, NativeMethods.OWronly | NativeMethods.OCreat | NativeMethods.OAppend));

    /// <summary>Appends <paramref name="bytes"/> in one write (Linux ignores the offset of writes to O_APPEND files).</summary>
    public void Append(ReadOnlySpan<byte> bytes) => RandomAccess.Write(_handle, bytes, fileOffset: 0);

    public void Dispose() => _handle.Dispose();
}

using System.Runtime.InteropServices;
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

    /// <summary>Opens (creating, owner-only) <paramref name="path"/> for appending.</summary>
    public static AppendOnlyFile Open(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return new AppendOnlyFile(File.OpenHandle(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
        }

        var fd = NativeMethods.Open(path, NativeMethods.OWronly | NativeMethods.OCreat | NativeMethods.OAppend | NativeMethods.OCloexec, Convert.ToInt32("600", 8));
        return fd >= 0
            ? new AppendOnlyFile(new SafeFileHandle(fd, ownsHandle: true))
            : throw new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Appends <paramref name="bytes"/> in one write (Linux ignores the offset of writes to O_APPEND files).</summary>
    public void Append(ReadOnlySpan<byte> bytes) => RandomAccess.Write(_handle, bytes, fileOffset: 0);

    public void Dispose() => _handle.Dispose();
}

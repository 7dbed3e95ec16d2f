using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// Read-only handles on the SQLite files Cellar reads itself beside SQLite (a database file, its <c>-shm</c>), each
/// opened once per process and never closed while the file has a name. POSIX record locks belong to a process and a
/// file: closing any descriptor of a file drops every lock the process holds on it, SQLite's own included. A header
/// read or a finished snapshot that closed its descriptor took the locks of the stream follower's read transactions in
/// the same process; the app's next connection to close then found the database unlocked, checkpointed it and deleted
/// the <c>-wal</c> and <c>-shm</c> under the follower, which went on reading the deleted WAL and shipped nothing more.
/// A handle whose file has lost its last name (a database replaced by a restore) is closed at the next open: SQLite
/// connections to that file are of no use any more either.
/// </summary>
internal static class HeldOpen
{
    private static readonly Lock s_lock = new();
    private static readonly List<(UnixFiles.FileId? Id, SafeFileHandle Handle)> s_held = [];

    /// <summary>Where files have no POSIX identity (Windows, whose locks close no other handle's), one handle per path.</summary>
    private static readonly Dictionary<string, SafeFileHandle> s_byPath = new(StringComparer.Ordinal);

    /// <summary>
    /// A read-only handle on the file <paramref name="path"/> names now, to read with <see cref="RandomAccess"/>
    /// (offsets given, so callers share it). The caller must not dispose it.
    /// </summary>
    public static SafeFileHandle Read(string path)
    {
        lock (s_lock)
        {
            if (OperatingSystem.IsWindows())
            {
                var full = Path.GetFullPath(path);
                return s_byPath.TryGetValue(full, out var same) ? same
                    : s_byPath[full] = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }

            s_held.RemoveAll(Unlinked);
            if (UnixFiles.Stat(path)?.Id is { } id && s_held.FirstOrDefault(h => h.Id == id) is { Handle: { } held })
            {
                return held;
            }

            // Kept even when the name was replaced between the stat and the open by a file already held: closing this
            // second descriptor would drop that file's locks just the same.
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            s_held.Add((UnixFiles.FStat(handle)?.Id, handle));
            return handle;
        }
    }

    private static bool Unlinked((UnixFiles.FileId? Id, SafeFileHandle Handle) held)
    {
        if (held.Id is null || UnixFiles.FStat(held.Handle) is not { Links: 0 })
        {
            return false;
        }

        held.Handle.Dispose();
        return true;
    }
}

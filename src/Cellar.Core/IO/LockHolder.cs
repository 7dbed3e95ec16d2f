namespace Cellar.Core.IO;

/// <summary>
/// Who holds a lock on a file or folder, from the kernel's table of locks (<c>/proc/locks</c>: "1: FLOCK ADVISORY
/// WRITE PID MAJ:MIN:INODE 0 EOF", and POSIX locks such as SQLite's alike), so a wait can name the process it waits
/// for. A courtesy in a message: where it cannot be read, the wait goes on without it.
/// </summary>
internal static class LockHolder
{
    /// <summary>"pid N, NAME" of a process holding a lock on <paramref name="path"/>, or "pid unknown".</summary>
    public static string Of(string path)
    {
        try
        {
            if (UnixFiles.Stat(path) is { } stat && File.Exists("/proc/locks"))
            {
                var inode = $":{stat.Inode}";
                foreach (var line in File.ReadLines("/proc/locks"))
                {
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length > 5 && fields[5].EndsWith(inode, StringComparison.Ordinal)
                        && int.TryParse(fields[4], System.Globalization.CultureInfo.InvariantCulture, out var pid) && pid > 0 && pid != Environment.ProcessId)
                    {
                        var comm = File.Exists($"/proc/{pid}/comm") ? File.ReadAllText($"/proc/{pid}/comm").Trim() : "?";
                        return $"pid {pid}, {comm}";
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the message loses its pid.
        }

        return "pid unknown";
    }
}

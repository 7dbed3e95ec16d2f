using System.Globalization;

namespace Cellar.Core.Restore;

/// <summary>
/// Finds processes that have a database open for writing, the way <c>fuser</c> does: through
/// <c>/proc/&lt;pid&gt;/fd</c> and the access mode in <c>/proc/&lt;pid&gt;/fdinfo</c>. Replacing a database
/// under a running app would leave it writing into the old, unlinked file. Processes in another PID
/// namespace (another container) are invisible here, which the restore runbook says.
/// </summary>
internal static class WriterDetector
{
    private const int AccessModeMask = 3; // O_ACCMODE: 0 read-only, 1 write-only, 2 read-write.

    /// <summary>Processes (pid and name) other than this one that hold <paramref name="databasePath"/> or its WAL open for writing.</summary>
    public static IReadOnlyList<(int Pid, string Name)> Find(string databasePath)
    {
        if (!Directory.Exists("/proc/self/fd"))
        {
            return [];
        }

        var targets = new HashSet<string>(StringComparer.Ordinal) { databasePath, databasePath + "-wal", databasePath + "-journal" };
        var self = Environment.ProcessId;
        var found = new List<(int, string)>();
        foreach (var processDir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(processDir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self)
            {
                continue;
            }

            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(processDir, "fd")))
                {
                    var link = new FileInfo(fd).LinkTarget;
                    if (link is not null && targets.Contains(link) && OpenForWriting(processDir, Path.GetFileName(fd)))
                    {
                        found.Add((pid, File.ReadAllText(Path.Combine(processDir, "comm")).Trim()));
                        break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended, or is not ours to inspect.
            }
        }

        return found;
    }

    private static bool OpenForWriting(string processDir, string fd)
    {
        foreach (var line in File.ReadLines(Path.Combine(processDir, "fdinfo", fd)))
        {
            if (line.StartsWith("flags:", StringComparison.Ordinal))
            {
                var flags = Convert.ToInt32(line["flags:".Length..].Trim(), 8);
                return (flags & AccessModeMask) != 0;
            }
        }

        return false;
    }
}

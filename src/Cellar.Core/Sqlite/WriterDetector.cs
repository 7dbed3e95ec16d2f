using System.Globalization;
using Cellar.Core.IO;

namespace Cellar.Core.Sqlite;

/// <summary>
/// Finds processes that have a database open for writing, the way <c>fuser</c> does: through
/// <c>/proc/&lt;pid&gt;/fd</c> and the access mode in <c>/proc/&lt;pid&gt;/fdinfo</c>. Replacing a database
/// under a running app would leave it writing into the old, unlinked file. An existing file is matched by device
/// and inode, so an app that opened it by another name (a hard link, a bind mount) is found too; paths are compared
/// only for names that do not exist. Processes in another PID namespace (another container) are invisible here,
/// which the restore runbook says.
/// </summary>
internal static class WriterDetector
{
    private const int AccessModeMask = 3; // O_ACCMODE: 0 read-only, 1 write-only, 2 read-write.
    private const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// Processes (pid and name) other than this one that hold <paramref name="databasePath"/>, its <c>-wal</c> or
    /// its <c>-journal</c> open for writing, and how many processes could not be inspected (not ours to read).
    /// The path need not exist.
    /// </summary>
    public static WriterScan Find(string databasePath) => Find(databasePath, "/proc", Environment.ProcessId);

    /// <summary><see cref="Find(string)"/> over a given <c>/proc</c>-shaped tree, skipping <paramref name="selfPid"/>.</summary>
    internal static WriterScan Find(string databasePath, string procRoot, int selfPid)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var files = new HashSet<UnixFiles.FileId>();
        foreach (var name in NamesOf(databasePath))
        {
            foreach (var suffix in new[] { "", "-wal", "-journal" })
            {
                var path = name + suffix;
                if (UnixFiles.Stat(path) is { } stat)
                {
                    files.Add(stat.Id);
                }
                else
                {
                    paths.Add(path); // nothing there now, but an app may hold it open under this name
                }

                // The kernel shows a file unlinked while open (an operator deleted the database under the app) as
                // "PATH (deleted)"; the app is still writing to it.
                paths.Add(path + DeletedSuffix);
            }
        }

        var found = new List<(int, string)>();
        var descriptors = OpenDescriptors(paths, files, procRoot, selfPid, out var uninspectable);
        foreach (var (pid, name, flags, _) in descriptors)
        {
            if ((flags & AccessModeMask) != 0 && !found.Contains((pid, name)))
            {
                found.Add((pid, name));
            }
        }

        return new WriterScan(found, uninspectable);
    }

    /// <summary>
    /// Every descriptor of another process that points to one of <paramref name="targets"/> (as the kernel shows
    /// paths in <c>/proc/PID/fd</c>), with its open flags; <paramref name="uninspectable"/> counts the processes whose
    /// descriptors could not be read.
    /// </summary>
    internal static List<(int Pid, string Name, int Flags, string Link)> OpenDescriptors(IReadOnlySet<string> targets, string procRoot, int selfPid, out int uninspectable) =>
        OpenDescriptors(targets, new HashSet<UnixFiles.FileId>(), procRoot, selfPid, out uninspectable);

    /// <summary>
    /// Processes other than this one that hold the database file open by a name other than <paramref name="databasePath"/>
    /// (a hard link, another path to a bind mount), with the name they use. SQLite keeps its <c>-wal</c> and
    /// <c>-shm</c> beside the name a database is opened by, so two names of one file have two logs, and commits made
    /// through one are lost to the other: a change made live through one name is never safe while the other is open.
    /// </summary>
    public static IReadOnlyList<(int Pid, string Name, string OpenedAs)> OpenedByAnotherName(string databasePath)
    {
        if (UnixFiles.Stat(databasePath) is not { } stat)
        {
            return [];
        }

        var names = NamesOf(databasePath).ToHashSet(StringComparer.Ordinal);
        return OpenDescriptors(new HashSet<string>(), new HashSet<UnixFiles.FileId> { stat.Id }, "/proc", Environment.ProcessId, out _)
            .Where(d => !names.Contains(d.Link) && !names.Contains(d.Link.Replace(DeletedSuffix, "", StringComparison.Ordinal)))
            .Select(d => (d.Pid, d.Name, d.Link))
            .Distinct()
            .ToList();
    }

    /// <summary>
    /// Every descriptor of another process that points to one of <paramref name="paths"/> (as the kernel shows paths
    /// in <c>/proc/PID/fd</c>) or to one of <paramref name="files"/> (by device and inode, whatever name it was opened
    /// by), with its open flags; <paramref name="uninspectable"/> counts the processes whose descriptors could not be read.
    /// </summary>
    internal static List<(int Pid, string Name, int Flags, string Link)> OpenDescriptors(IReadOnlySet<string> paths, IReadOnlySet<UnixFiles.FileId> files, string procRoot, int selfPid, out int uninspectable)
    {
        var found = new List<(int, string, int, string)>();
        uninspectable = 0;
        if (!Directory.Exists(procRoot))
        {
            return found;
        }

        IEnumerable<string> processDirs;
        try
        {
            processDirs = Directory.EnumerateDirectories(procRoot).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return found;
        }

        foreach (var processDir in processDirs)
        {
            if (!int.TryParse(Path.GetFileName(processDir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == selfPid)
            {
                continue;
            }

            var (fds, denied) = DescriptorsOf(processDir);
            if (denied)
            {
                uninspectable++; // Not ours to inspect: another user's process, and we are not root.
            }

            foreach (var fd in fds)
            {
                try
                {
                    var link = new FileInfo(fd).LinkTarget;
                    if (link is not null && (paths.Contains(link) || IsOneOf(fd, link, files)) && FlagsOf(processDir, Path.GetFileName(fd)) is { } flags)
                    {
                        found.Add((pid, NameOf(processDir), flags, link));
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
                {
                    // This descriptor closed between the listing and the look (or its fdinfo is unreadable):
                    // the process's other descriptors still count.
                }
            }
        }

        return found;
    }

    /// <summary>
    /// The names the kernel may show for the database: as given, and canonical (symlinks resolved, through the
    /// folder when the file itself does not exist), because <c>/proc/*/fd</c> links show the resolved path.
    /// </summary>
    internal static IEnumerable<string> NamesOf(string databasePath)
    {
        yield return databasePath;
        var real = UnixFiles.RealPath(databasePath);
        if (real is null && Path.GetDirectoryName(databasePath) is { } folder && UnixFiles.RealPath(folder) is { } realFolder)
        {
            real = Path.Combine(realFolder, Path.GetFileName(databasePath));
        }

        if (real is not null && real != databasePath)
        {
            yield return real;
        }
    }

    /// <summary>
    /// The process's open descriptors (none when it has ended), and whether it is not ours to inspect (another
    /// user's process, and we are not root).
    /// </summary>
    private static (IReadOnlyList<string> Fds, bool Denied) DescriptorsOf(string processDir)
    {
        try
        {
            return (Directory.EnumerateFileSystemEntries(Path.Combine(processDir, "fd")).ToList(), false);
        }
        catch (UnauthorizedAccessException)
        {
            return ([], true);
        }
        catch (IOException)
        {
            return ([], false);
        }
    }

    /// <summary>
    /// True when the descriptor is one of <paramref name="files"/>: stat(2) of <c>/proc/PID/fd/N</c> follows the link to
    /// the open file itself. Pipes, sockets and the like (links such as <c>pipe:[123]</c>) are skipped unexamined.
    /// </summary>
    private static bool IsOneOf(string fd, string link, IReadOnlySet<UnixFiles.FileId> files) =>
        files.Count > 0 && link.StartsWith('/') && UnixFiles.Stat(fd) is { } stat && files.Contains(stat.Id);

    private static string NameOf(string processDir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(processDir, "comm")).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    private static int? FlagsOf(string processDir, string fd)
    {
        foreach (var line in File.ReadLines(Path.Combine(processDir, "fdinfo", fd)))
        {
            if (line.StartsWith("flags:", StringComparison.Ordinal))
            {
                return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
            }
        }

        return null;
    }
}

/// <summary>What a scan for writers found.</summary>
/// <param name="Writers">Processes (pid and name) holding the database open for writing.</param>
/// <param name="Uninspectable">Processes whose open files could not be read (permission), so a writer among them would be missed.</param>
internal sealed record WriterScan(IReadOnlyList<(int Pid, string Name)> Writers, int Uninspectable);

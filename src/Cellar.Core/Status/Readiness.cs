using System.Runtime.InteropServices;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Status;

/// <summary>
/// Whether Cellar could back up right now: every database readable, every backup folder writable (or creatable).
/// Asked with access(2) for the effective user, so the check writes nothing and opens nothing: not even the database,
/// because closing any descriptor of a file drops every POSIX lock this process holds on it, and a snapshot running
/// in the same process holds SQLite's read lock there (in rollback-journal mode, what keeps writers out of the copy).
/// </summary>
internal static partial class Readiness
{
    private const int AtCurrentFolder = -100; // AT_FDCWD
    private const int AsEffectiveUser = 0x200; // AT_EACCESS
    private const int MayRead = 4; // R_OK
    private const int MayWrite = 2; // W_OK
    private const int MayEnter = 1; // X_OK

    /// <summary>What stops a backup now; empty when ready.</summary>
    public static IReadOnlyList<ReadinessProblem> Problems(CellarConfig config)
    {
        var problems = new List<ReadinessProblem>();
        foreach (var database in config.Databases)
        {
            var problem = Directory.Exists(database.Path) ? "is a folder, not a database"
                : !File.Exists(database.Path) ? "does not exist"
                : UnixFiles.Stat(database.Path) is { IsRegularFile: false } stat ? $"is {stat.TypeName}, not a database"
                : !Allowed(database.Path, MayRead) ? "is not readable"
                : null;
            if (problem is not null)
            {
                problems.Add(new($"database {database.Name} {problem}", $"database {database.Name} ({database.Path}) {problem}"));
            }
        }

        foreach (var job in config.Jobs)
        {
            // A folder not made yet is made by the first backup: what counts is the nearest one that exists.
            var folder = job.Folder;
            while (!Directory.Exists(folder) && !File.Exists(folder) && Path.GetDirectoryName(folder) is { } parent)
            {
                folder = parent;
            }

            var problem = !Directory.Exists(folder) ? $"{folder} is not a folder"
                : !Allowed(folder, MayWrite | MayEnter) ? $"{folder} is not writable"
                : null;
            if (problem is not null)
            {
                problems.Add(new($"job {job.QualifiedName(config)}: backup folder is not writable", $"job {job.QualifiedName(config)}: backup folder {job.Folder}: {problem}"));
            }
        }

        return problems;
    }

    private static bool Allowed(string path, int access) =>
        !OperatingSystem.IsLinux() || FAccessAt(AtCurrentFolder, path, access, AsEffectiveUser) == 0;

    [LibraryImport("libc", EntryPoint = "faccessat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FAccessAt(int folder, string path, int access, int flags);
}

/// <summary>One reason Cellar is not ready: <see cref="Summary"/> names no path (it is shown to unauthenticated callers), <see cref="Detail"/> does (for the log).</summary>
internal sealed record ReadinessProblem(string Summary, string Detail);

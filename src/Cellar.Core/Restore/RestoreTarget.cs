using Cellar.Core.IO;

namespace Cellar.Core.Restore;

/// <summary>
/// What a restore may write to: a regular file, or a name that holds nothing yet, in a folder that exists. A snapshot
/// restore renames over its target and rename(2) replaces whatever the name held, so a FIFO or a device node (run as
/// root: <c>--to /dev/null</c>) would be gone; a table restore would open it as a database and hang on a FIFO.
/// </summary>
internal static class RestoreTarget
{
    /// <summary>The full path of <paramref name="targetPath"/>, once its folder exists and the name holds a regular file or nothing.</summary>
    public static string Check(string targetPath)
    {
        var target = Path.GetFullPath(targetPath);
        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
        {
            throw new CellarException($"cannot restore to {target}: folder {folder} does not exist");
        }

        _ = Exists(target);
        return target;
    }

    /// <summary>
    /// True when <paramref name="target"/> is a regular file, false when nothing is there; anything else is refused
    /// as a usage error. Asked again right before a swap, since minutes of verification may lie between.
    /// </summary>
    public static bool Exists(string target)
    {
        if (Directory.Exists(target))
        {
            throw new ConfigException($"cannot restore to {target}: it is a folder; name the database file");
        }

        if (UnixFiles.Stat(target) is { IsRegularFile: false } stat)
        {
            throw new ConfigException($"cannot restore to {target}: it is {stat.TypeName}, not a regular file; restore to a database file or a new name");
        }

        return File.Exists(target);
    }
}

using System.Security.Cryptography;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// A live log on disk as every step of a rotation sees it: opened without following links, checked to be a regular
/// file, its head probed by hash, and the name it has while it is renamed or copied out of the way.
/// </summary>
internal static class LogFile
{
    /// <summary>How many head bytes a probe hashes: enough to tell two heads apart, little enough to read at once.</summary>
    public const int ProbeBytes = 4096;

    private const string RotatingSuffix = ".cellar-rotating";

    /// <summary>
    /// The name a log's lines take between being moved out of its way (rename for signal, copy for copytruncate) and
    /// their archive: a crash leaves them there, and the next rotation archives them first.
    /// </summary>
    public static string RotatedPath(string path) => path + RotatingSuffix;

    /// <summary>True for a file named by <see cref="RotatedPath"/>: never a live log itself, even when a glob matches it.</summary>
    public static bool IsRotatedPath(string path) => path.EndsWith(RotatingSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Opens a log without following a link planted under its name: rotation cuts and truncates what it opens, and as
    /// root in the app's log folder a link swapped in after any check by name could point it at any file.
    /// </summary>
    public static FileStream Open(string path, FileAccess access)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete, 1);
        }

        try
        {
            return new FileStream(UnixFiles.OpenNoFollow(path, access == FileAccess.Read ? NativeMethods.ORdonly : NativeMethods.ORdwr), access, 1);
        }
        catch (IOException e) when (e.HResult == UnixFiles.ELoop)
        {
            throw new CellarException($"{path} is a symbolic link; name the log file itself in the job", e);
        }
    }

    /// <summary>What was opened (a regular file, or the rotation stops), whatever its name points to by now.</summary>
    public static UnixFiles.FileStat StatOf(FileStream file, string path) =>
        UnixFiles.FStat(file.SafeFileHandle) is { } stat
            ? stat.IsRegularFile ? stat : throw new CellarException($"{path} is {stat.TypeName}, not a regular file")
            : throw new CellarException($"cannot read the status of {path}");

    /// <summary>Lowercase hex SHA-256 of up to <paramref name="length"/> bytes of the file from <paramref name="offset"/>.</summary>
    public static string HashAt(SafeFileHandle handle, long offset, int length)
    {
        var bytes = new byte[length];
        var read = RandomAccess.Read(handle, bytes, offset);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, read)));
    }
}

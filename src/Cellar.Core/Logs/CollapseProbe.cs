using System.Collections.Concurrent;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// Whether a folder's filesystem can cut the head off a file (<c>FALLOC_FL_COLLAPSE_RANGE</c>: ext4 and XFS yes,
/// tmpfs and most overlay setups no), found by trying it on a scratch file there, once per folder and process.
/// </summary>
internal static class CollapseProbe
{
    private static readonly ConcurrentDictionary<(string, long), bool> Known = new();

    /// <summary>Tests hook: treat every folder as unable to collapse, as on tmpfs.</summary>
    internal static bool Disabled { get; set; }

    public static bool Works(string folder, long blockSize) => !Disabled && Known.GetOrAdd((folder, blockSize), key => Try(key.Item1, key.Item2));

    private static bool Try(string folder, long blockSize)
    {
        try
        {
            using var probe = TempFile.For(folder, "collapse-probe");
            using var file = new FileStream(probe.Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1);
            file.Write(new byte[blockSize * 2]);
            file.Flush();
            return NativeMethods.Fallocate((int)file.SafeFileHandle.DangerousGetHandle(), NativeMethods.FallocFlCollapseRange, 0, blockSize) == 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder Cellar may not write: the real cut on the log decides, and reports if it cannot.
            return true;
        }
    }
}

using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Cli;

/// <summary>
/// The hidden folder beside a restore's target that an offsite copy is downloaded into (same file system, so the
/// restore's rename stays atomic). It holds a plain copy of the database, so it is removed afterwards, and any left
/// by a restore that was killed are swept by the next one. Each folder's lock is a sibling file taken before the
/// folder exists and dropped only after it is gone, so a sweep never removes a folder a running restore uses.
/// </summary>
internal sealed class DownloadFolder : IDisposable
{
    private const string Prefix = ".cellar-download-";
    private const string LockSuffix = ".lock";
    private readonly SafeFileHandle _lock;

    private DownloadFolder(string path, SafeFileHandle folderLock)
    {
        Path = path;
        _lock = folderLock;
    }

    public string Path { get; }

    public static DownloadFolder Create(string target)
    {
        var parent = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(target))!;
        Sweep(parent);
        var path = System.IO.Path.Combine(parent, Prefix + Guid.NewGuid().ToString("N"));
        var folderLock = TryLock(path + LockSuffix) ?? throw new IOException($"cannot lock {path}{LockSuffix}");
        SecureFiles.EnsureFolder(path);
        return new DownloadFolder(path, folderLock);
    }

    public void Dispose()
    {
        Remove(Path);
        _lock.Dispose();
    }

    /// <summary>Removes the folders (and stray locks) nobody holds: what killed restores left behind.</summary>
    private static void Sweep(string parent)
    {
        var names = Directory.Exists(parent) ? Directory.GetFileSystemEntries(parent, Prefix + "*") : [];
        foreach (var folder in names.Select(n => n.EndsWith(LockSuffix, StringComparison.Ordinal) ? n[..^LockSuffix.Length] : n).Distinct())
        {
            using var held = TryLock(folder + LockSuffix);
            if (held is not null)
            {
                Remove(folder);
            }
        }
    }

    /// <summary>Deletes a download folder and its lock file, best effort: what cannot go now goes at the next sweep.</summary>
    private static void Remove(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            File.Delete(folder + LockSuffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>An exclusive lock on <paramref name="path"/>, or null when another restore holds it or it cannot be had.</summary>
    private static SafeFileHandle? TryLock(string path)
    {
        SafeFileHandle handle;
        try
        {
            // Beside the app's database, in a folder its user can write: never through a link planted under the name.
            handle = UnixFiles.OpenNoFollow(path, NativeMethods.ORdwr | NativeMethods.OCreat);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (UnixFiles.TryLock(handle) == 0)
        {
            return handle;
        }

        handle.Dispose();
        return null;
    }
}

using Cellar.Core;
using Cellar.Core.IO;

namespace Cellar.Cli;

/// <summary>
/// The hidden folder beside a restore's target that an offsite copy is downloaded into (same file system, so the
/// restore's rename stays atomic). It holds a plain copy of the database, so it is locked while in use, removed
/// afterwards, and any left by a restore that was killed are swept by the next one.
/// </summary>
internal sealed class DownloadFolder : IAsyncDisposable
{
    private const string Prefix = ".cellar-download-";
    private readonly FolderLock _lock;

    private DownloadFolder(string path, FolderLock folderLock)
    {
        Path = path;
        _lock = folderLock;
    }

    public string Path { get; }

    public static async Task<DownloadFolder> CreateAsync(string target, TimeProvider time, CancellationToken cancellationToken)
    {
        var parent = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(target))!;
        await SweepAsync(parent, time, cancellationToken).ConfigureAwait(false);
        var path = System.IO.Path.Combine(parent, Prefix + Guid.NewGuid().ToString("N"));
        SecureFiles.EnsureFolder(path);
        return new DownloadFolder(path, await FolderLock.AcquireAsync(path, time, cancellationToken, TimeSpan.Zero).ConfigureAwait(false));
    }

    public ValueTask DisposeAsync()
    {
        _lock.Dispose();
        Directory.Delete(Path, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Removes download folders nobody holds: what a killed restore left behind.</summary>
    private static async Task SweepAsync(string parent, TimeProvider time, CancellationToken cancellationToken)
    {
        foreach (var stale in Directory.Exists(parent) ? Directory.GetDirectories(parent, Prefix + "*") : [])
        {
            try
            {
                using (await FolderLock.AcquireAsync(stale, time, cancellationToken, TimeSpan.Zero).ConfigureAwait(false))
                {
                }

                Directory.Delete(stale, recursive: true);
            }
            catch (CellarException)
            {
                // Another restore is using it right now.
            }
        }
    }
}

namespace Cellar.Core.IO;

/// <summary>
/// An exclusive advisory lock on a backup folder, shared by the daemon and every CLI invocation, so two
/// runs never write, prune or sweep the same folder at once. .NET implements <see cref="FileShare.None"/>
/// with <c>flock(2)</c> on Unix, and the kernel drops the lock when the process dies, so a crash never
/// leaves the folder locked.
/// </summary>
internal sealed class FolderLock : IDisposable
{
    public const string FileName = ".cellar.lock";
    private readonly FileStream _stream;

    private FolderLock(FileStream stream) => _stream = stream;

    /// <summary>Waits for the lock, polling, until <paramref name="cancellationToken"/> fires.</summary>
    public static async Task<FolderLock> AcquireAsync(string folder, TimeProvider time, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, FileName);
        while (true)
        {
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = SecureFiles.FileMode;
                }

                return new FolderLock(new FileStream(path, options));
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}

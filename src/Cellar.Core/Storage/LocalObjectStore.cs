using System.Runtime.CompilerServices;
using Cellar.Core.IO;

namespace Cellar.Core.Storage;

/// <summary>
/// A folder as a store: a mounted NAS, a second disk, a USB drive. Objects are files under <see cref="Root"/> at
/// their key's path, written under a hidden temp name, fsynced and renamed, with owner-only permissions.
/// </summary>
internal sealed class LocalObjectStore : IObjectStore
{
    public LocalObjectStore(string root) => Root = Path.GetFullPath(root);

    /// <summary>A folder holds no connection: nothing to release.</summary>
    public void Dispose()
    {
    }

    /// <summary>The folder the keys are relative to.</summary>
    public string Root { get; }

    public string Location => Root;

    public async Task<PutResult> PutAsync(string key, Stream content, long? length, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (!Directory.Exists(Root))
        {
            // Created by hand, never by Cellar: an unmounted NAS must not turn into copies on the local disk.
            throw new CellarException($"offsite folder {Root} does not exist (not mounted?); create it to use it");
        }

        var folder = Path.GetDirectoryName(path)!;
        SecureFiles.EnsureFolder(folder);
        using var temp = TempFile.For(folder, Path.GetFileName(path));
        string sha256;
        long size;
        await using (var file = SecureFiles.CreateNew(temp.Path))
        {
            await using var hashing = new HashingStream(file, leaveOpen: true);
            await content.CopyToAsync(hashing, 1 << 20, cancellationToken).ConfigureAwait(false);
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            Fsync.File(file);
            sha256 = hashing.HexHash();
            size = hashing.Bytes;
        }

        try
        {
            temp.Commit(path, replace: true);
        }
        catch (SyncFailedException)
        {
            // A put that failed leaves no object: it may not be on the disk, and the next pass puts it again.
            File.Delete(path);
            throw;
        }

        return new PutResult(size, sha256);
    }

    public Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult<Stream>(new FileStream(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(Location, key);
        }
    }

    public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var file = new FileInfo(PathOf(key));
        return Task.FromResult(file.Exists ? new StoredObject(key, file.Length, file.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.CheckPrefix(prefix);
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        // Keys hide nothing under a '.' segment, so temp files and foreign dot-files are never listed.
        var found = new DirectoryInfo(Root)
            .EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => (File: f, Key: Path.GetRelativePath(Root, f.FullName).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => f.Key.StartsWith(prefix, StringComparison.Ordinal) && f.Key.Split('/').All(s => s[0] != '.'))
            .OrderBy(f => f.Key, StringComparer.Ordinal);
        foreach (var (file, key) in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new StoredObject(key, file.Length, file.LastWriteTimeUtc);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (File.Exists(path))
        {
            File.Delete(path);
            Fsync.Directory(Path.GetDirectoryName(path)!);
        }

        return Task.CompletedTask;
    }

    public async Task DeleteManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    private string PathOf(string key) => Path.Combine(Root, ObjectKey.Check(key).Replace('/', Path.DirectorySeparatorChar));
}

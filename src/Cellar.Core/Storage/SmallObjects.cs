namespace Cellar.Core.Storage;

/// <summary>Reading the small objects Cellar keeps beside backups (sidecars, manifests) whole, and no more than that.</summary>
internal static class SmallObjects
{
    /// <summary>
    /// Far above any sidecar (a few KiB) or manifest (about 400 bytes a copy): an object bigger than this was not
    /// written by Cellar, and reading it whole could exhaust memory.
    /// </summary>
    public const int MaxBytes = 32 << 20;

    /// <summary>The whole object; <see cref="ObjectNotFoundException"/> when there is none, an error when it is larger than <see cref="MaxBytes"/>.</summary>
    public static async Task<byte[]> ReadSmallAsync(this IObjectStore store, string key, CancellationToken cancellationToken)
    {
        await using var stream = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (copy.Length + read > MaxBytes)
            {
                throw new CellarException($"{store.Location}{key} is larger than {MaxBytes >> 20} MiB, which no sidecar or manifest Cellar writes is; not read");
            }

            copy.Write(buffer, 0, read);
        }

        return copy.ToArray();
    }
}

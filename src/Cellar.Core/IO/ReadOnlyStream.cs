namespace Cellar.Core.IO;

/// <summary>
/// The part every forward-only, read-only stream of Cellar's shares (log text, encryption, a download): no seeking,
/// no writing, no length unless a subclass knows it. Subclasses implement <see cref="Read(Span{byte})"/>, which the
/// array overload leads to, and should implement <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/>.
/// </summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    // Abstract again: Stream's own version calls the array overload, which leads back here.
    public abstract override int Read(Span<byte> buffer);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

namespace Cellar.Core.IO;

/// <summary>
/// Several streams read one after the other as one, each opened only when the one before it ends and disposed then:
/// a merge of many files holds one of them open at a time.
/// </summary>
internal sealed class ConcatenatedStream(IEnumerable<Func<Stream>> parts) : ReadOnlyStream
{
    private readonly IEnumerator<Func<Stream>> _parts = parts.GetEnumerator();
    private Stream? _current;

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            if (_current is null)
            {
                if (!_parts.MoveNext())
                {
                    return 0;
                }

                _current = _parts.Current();
            }

            var read = _current.Read(buffer);
            if (read > 0 || buffer.IsEmpty)
            {
                return read;
            }

            _current.Dispose();
            _current = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _parts.Dispose();
        }

        base.Dispose(disposing);
    }
}

using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>
/// The bytes of a log on their way into an archive: counted, with NUL bytes left out (a log never
/// holds them; they are the hole a writer without O_APPEND leaves after a rotation) and counted separately.
/// </summary>
internal sealed class LogText(Stream inner) : ReadOnlyStream
{
    /// <summary>Bytes passed on (NULs excluded).</summary>
    public long Bytes { get; private set; }

    /// <summary>Line breaks passed on.</summary>
    public long Lines { get; private set; }

    /// <summary>NUL bytes left out.</summary>
    public long NulBytes { get; private set; }

    public override long Position { get => Bytes; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            var read = inner.Read(buffer);
            if (read == 0)
            {
                return 0;
            }

            var kept = Keep(buffer[..read]);
            if (kept > 0)
            {
                return kept;
            }
        }
    }

    private int Keep(Span<byte> data)
    {
        var kept = data.Length;
        if (data.Contains((byte)0))
        {
            kept = 0;
            foreach (var b in data)
            {
                if (b != 0)
                {
                    data[kept++] = b;
                }
            }

            NulBytes += data.Length - kept;
        }

        var text = data[..kept];
        Bytes += kept;
        Lines += text.Count((byte)'\n');
        return kept;
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;
using Cellar.Core.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>
/// Builds SQL text as UTF-8 bytes in the dialect of <c>sqlite3 .dump</c>, straight from the bytes SQLite
/// stores, so no value passes through a .NET string (which would replace invalid UTF-8) on its way out.
/// </summary>
internal sealed class SqlWriter
{
    private static readonly SearchValues<byte> LineBreaks = SearchValues.Create("\r\n"u8);
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 17);

    /// <summary>Bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public void Clear() => _buffer.ResetWrittenCount();

    public SqlWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    public SqlWriter Raw(string text)
    {
        var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        _buffer.Advance(Encoding.UTF8.GetBytes(text, span));
        return this;
    }

    public SqlWriter Integer(long value)
    {
        var span = _buffer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        _buffer.Advance(written);
        return this;
    }

    public SqlWriter Real(double value) => Raw(RealLiteral.Format(value));

    /// <summary>A name as sqlite3 writes it: bare when it is a plain identifier and no keyword, else in double quotes.</summary>
    public SqlWriter Identifier(string name) => SqlNames.IsPlain(name) ? Raw(name) : Raw(SqliteFiles.Quote(name));

    public SqlWriter Blob(ReadOnlySpan<byte> bytes)
    {
        Raw("X'"u8);
        var span = _buffer.GetSpan(bytes.Length * 2);
        for (var i = 0; i < bytes.Length; i++)
        {
            span[2 * i] = Hex(bytes[i] >> 4);
            span[(2 * i) + 1] = Hex(bytes[i] & 0xF);
        }

        _buffer.Advance(bytes.Length * 2);
        return Raw("'"u8);
    }

    /// <summary>
    /// A TEXT value, byte for byte. Like sqlite3, line breaks are written as <c>\n</c>/<c>\r</c> markers undone by
    /// <c>replace()</c>, so every statement stays on one line; text SQL cannot carry as a literal (a NUL byte,
    /// invalid UTF-8) is written as <c>CAST(X'..' AS TEXT)</c>.
    /// </summary>
    public SqlWriter Text(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Contains((byte)0) || !Utf8.IsValid(utf8))
        {
            Raw("CAST("u8);
            Blob(utf8);
            return Raw(" AS TEXT)"u8);
        }

        if (!utf8.ContainsAny(LineBreaks))
        {
            return Quoted(utf8, default, default);
        }

        byte[] newline = utf8.Contains((byte)'\n') ? Marker(utf8, "\\n"u8, "\\012") : [];
        byte[] carriage = utf8.Contains((byte)'\r') ? Marker(utf8, "\\r"u8, "\\015") : [];
        if (newline.Length > 0)
        {
            Raw("replace("u8);
        }

        if (carriage.Length > 0)
        {
            Raw("replace("u8);
        }

        Quoted(utf8, newline, carriage);
        if (carriage.Length > 0)
        {
            Raw(",'"u8).Raw(carriage).Raw("',char(13))"u8);
        }

        if (newline.Length > 0)
        {
            Raw(",'"u8).Raw(newline).Raw("',char(10))"u8);
        }

        return this;
    }

    private SqlWriter Quoted(ReadOnlySpan<byte> utf8, ReadOnlySpan<byte> newline, ReadOnlySpan<byte> carriage)
    {
        Raw("'"u8);
        while (true)
        {
            var next = utf8.IndexOfAny((byte)'\'', (byte)'\n', (byte)'\r');
            if (next < 0)
            {
                Raw(utf8);
                break;
            }

            Raw(utf8[..next]);
            Raw(utf8[next] switch
            {
                (byte)'\'' => "''"u8,
                (byte)'\n' => newline,
                _ => carriage,
            });
            utf8 = utf8[(next + 1)..];
        }

        return Raw("'"u8);
    }

    /// <summary>A marker that does not occur in the text, so <c>replace()</c> undoes only what we escaped.</summary>
    private static byte[] Marker(ReadOnlySpan<byte> utf8, ReadOnlySpan<byte> preferred, string fallback)
    {
        if (!utf8.IndexOf(preferred).Equals(-1))
        {
            for (var i = 0; ; i++)
            {
                var candidate = Encoding.ASCII.GetBytes(i == 0 ? fallback : $"({fallback}{i})");
                if (utf8.IndexOf(candidate) < 0)
                {
                    return candidate;
                }
            }
        }

        return preferred.ToArray();
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}

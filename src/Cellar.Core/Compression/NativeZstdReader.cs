using System.Runtime.InteropServices;
using Cellar.Core.IO;

namespace Cellar.Core.Compression;

/// <summary>
/// Reads concatenated zstd frames through libzstd's streaming decompressor (<see cref="NativeZstd"/>). Damage, and
/// input that ends inside a frame, are an <see cref="InvalidDataException"/>, as the rest of Cellar expects of a codec.
/// </summary>
internal sealed class NativeZstdReader : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly Decoder _decoder;
    private readonly byte[] _input;
    private int _inputAt;
    private int _inputLength;

    // libzstd's answer to the last call: 0 once a frame is whole and flushed, else more is to come.
    private nuint _pending;

    // The last call filled the caller's buffer: more output may wait without more input.
    private bool _outputFull;

    // The input stream has no more bytes.
    private bool _ended;

    public NativeZstdReader(Stream inner)
    {
        _inner = inner;
        _decoder = Decoder.Create();
        _input = new byte[(int)Math.Min((ulong)NativeZstd.ZSTD_DStreamInSize(), 1 << 20)];
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_decoder.IsClosed, this);
        while (true)
        {
            if (NeedsInput)
            {
                Filled(_inner.Read(_input));
            }

            if (Step(buffer) is { } produced)
            {
                return produced;
            }
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_decoder.IsClosed, this);
        while (true)
        {
            if (NeedsInput)
            {
                Filled(await _inner.ReadAsync(_input, cancellationToken).ConfigureAwait(false));
            }

            if (Step(buffer.Span) is { } produced)
            {
                return produced;
            }
        }
    }

    /// <summary>All input given to libzstd was taken, and the last call had room to give all it could.</summary>
    private bool NeedsInput => _inputAt == _inputLength && !_outputFull && !_ended;

    private void Filled(int read) => (_inputAt, _inputLength, _ended) = (0, read, read == 0);

    /// <summary>One call of libzstd's decompressor into <paramref name="buffer"/>: what it gave, or null when it needs more input first.</summary>
    private unsafe int? Step(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        NativeZstd.Buffer output, input;
        nuint pending;
        fixed (byte* dst = buffer)
        fixed (byte* src = _input)
        {
            output = new NativeZstd.Buffer { Data = dst, Size = (nuint)buffer.Length };
            input = new NativeZstd.Buffer { Data = src, Size = (nuint)_inputLength, Position = (nuint)_inputAt };
            pending = NativeZstd.Checked(NativeZstd.ZSTD_decompressStream(_decoder.DangerousGetHandle(), &output, &input));
        }

        // A call that took nothing and gave nothing says nothing of the frame: after one ends, it answers with the size
        // of the next one's header, which may never come.
        var produced = (int)output.Position;
        if (produced > 0 || (int)input.Position != _inputAt)
        {
            _pending = pending;
        }

        _inputAt = (int)input.Position;
        _outputFull = produced == buffer.Length;
        if (produced > 0)
        {
            return produced;
        }

        // All input given and nothing more comes out: a frame left open means the data was cut.
        if (_ended && _inputAt == _inputLength)
        {
            return _pending == 0 ? 0 : throw new InvalidDataException("zstd: the data ends inside a frame");
        }

        return null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _decoder.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>A libzstd decompression context, freed once.</summary>
    private sealed class Decoder : SafeHandle
    {
        private Decoder()
            : base(IntPtr.Zero, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        public static Decoder Create()
        {
            var decoder = new Decoder();
            decoder.SetHandle(NativeZstd.ZSTD_createDStream());
            if (decoder.IsInvalid)
            {
                throw new InvalidOperationException("zstd: libzstd could not make a decompression context (out of memory)");
            }

            NativeZstd.Checked(NativeZstd.ZSTD_initDStream(decoder.handle));
            return decoder;
        }

        protected override bool ReleaseHandle() => NativeZstd.ZSTD_freeDStream(handle) == 0;
    }
}

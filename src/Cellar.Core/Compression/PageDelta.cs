using ZstdSharp.Unsafe;

namespace Cellar.Core.Compression;

/// <summary>
/// A page stored as what changed since its version before: one zstd frame of the page compressed with the version
/// before as its raw-content dictionary, a prefix (what <c>zstd --patch-from</c> does), so the bytes that stayed, and
/// the bytes that moved within the page (SQLite moves a cell that grows to free space elsewhere in its page), cost a
/// few bytes a run, where a page of an image's incompressible bytes would cost its whole size. Through libzstd where it
/// loads, else ZstdSharp; the frames are the same. One instance per thread at a time: it keeps its contexts between
/// pages.
/// </summary>
internal sealed unsafe class PageDelta : IDisposable
{
    // Level 1 finds the long matches a prefix gives as well as any higher one, at a fraction of the time.
    private const int Level = 1;

    private readonly bool _native;
    private IntPtr _compressor;
    private IntPtr _decompressor;

    /// <summary>Uses libzstd where it loads (<paramref name="native"/> null), or as told.</summary>
    public PageDelta(bool? native = null) => _native = native ?? NativeZstd.Available;

    /// <summary>The most a change of a page of <paramref name="pageSize"/> bytes can take (an incompressible page is stored raw in its frame).</summary>
    public static int Bound(int pageSize) => pageSize + 64;

    /// <summary>
    /// Writes <paramref name="page"/> as its change from <paramref name="before"/> into <paramref name="output"/> (at
    /// least <see cref="Bound"/>); returns its length, or the page's when zstd could not make one (the page is then
    /// stored whole, which is always right).
    /// </summary>
    public int Encode(ReadOnlySpan<byte> page, ReadOnlySpan<byte> before, Span<byte> output)
    {
        nuint made;
        fixed (byte* src = page)
        fixed (byte* dictionary = before)
        fixed (byte* dst = output)
        {
            if (_native)
            {
                _compressor = _compressor != IntPtr.Zero ? _compressor : NativeZstd.NewCompressor();
                made = NativeZstd.ZSTD_compress_usingDict(_compressor, dst, (nuint)output.Length, src, (nuint)page.Length, dictionary, (nuint)before.Length, Level);
                if (NativeZstd.IsError(made))
                {
                    // A context a call failed in is not used again.
                    NativeZstd.Free(_compressor, IntPtr.Zero);
                    _compressor = IntPtr.Zero;
                    return page.Length;
                }
            }
            else
            {
                _compressor = _compressor != IntPtr.Zero ? _compressor : (IntPtr)Methods.ZSTD_createCCtx();
                made = _compressor == IntPtr.Zero ? 0
                    : Methods.ZSTD_compress_usingDict((ZSTD_CCtx_s*)_compressor, dst, (nuint)output.Length, src, (nuint)page.Length, dictionary, (nuint)before.Length, Level);
                if (_compressor == IntPtr.Zero || Methods.ZSTD_isError(made))
                {
                    FreeManaged();
                    return page.Length;
                }
            }
        }

        return (int)Math.Min(made, (nuint)page.Length);
    }

    /// <summary>
    /// Rebuilds into <paramref name="page"/> the page <paramref name="change"/> makes of <paramref name="before"/>;
    /// throws <see cref="InvalidDataException"/> unless it is one whole frame of exactly a page.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> change, ReadOnlySpan<byte> before, Span<byte> page)
    {
        nuint made;
        fixed (byte* src = change)
        fixed (byte* dictionary = before)
        fixed (byte* dst = page)
        {
            if (_native)
            {
                _decompressor = _decompressor != IntPtr.Zero ? _decompressor : NativeZstd.NewDecompressor();
                made = NativeZstd.Checked(NativeZstd.ZSTD_decompress_usingDict(_decompressor, dst, (nuint)page.Length, src, (nuint)change.Length, dictionary, (nuint)before.Length));
            }
            else
            {
                _decompressor = _decompressor != IntPtr.Zero ? _decompressor : (IntPtr)Methods.ZSTD_createDCtx();
                if (_decompressor == IntPtr.Zero)
                {
                    throw new InvalidOperationException("zstd: ZstdSharp could not make a decompression context");
                }

                made = Methods.ZSTD_decompress_usingDict((ZSTD_DCtx_s*)_decompressor, dst, (nuint)page.Length, src, (nuint)change.Length, dictionary, (nuint)before.Length);
                if (Methods.ZSTD_isError(made))
                {
                    throw new InvalidDataException($"zstd: {new string(Methods.ZSTD_getErrorName(made))}");
                }
            }
        }

        if ((int)made != page.Length)
        {
            throw new InvalidDataException($"zstd: a page's change makes {made} bytes, not a page of {page.Length}");
        }
    }

    public void Dispose()
    {
        if (_native)
        {
            NativeZstd.Free(_compressor, _decompressor);
            (_compressor, _decompressor) = (IntPtr.Zero, IntPtr.Zero);
        }
        else
        {
            FreeManaged();
            if (_decompressor != IntPtr.Zero)
            {
                Methods.ZSTD_freeDCtx((ZSTD_DCtx_s*)_decompressor);
                _decompressor = IntPtr.Zero;
            }
        }

        GC.SuppressFinalize(this);
    }

    private void FreeManaged()
    {
        if (_compressor != IntPtr.Zero)
        {
            Methods.ZSTD_freeCCtx((ZSTD_CCtx_s*)_compressor);
            _compressor = IntPtr.Zero;
        }
    }
}

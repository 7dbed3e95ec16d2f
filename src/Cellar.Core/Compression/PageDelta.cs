using ZstdSharp.Unsafe;

namespace Cellar.Core.Compression;

/// <summary>
/// A page stored as what changed since its version before: one zstd frame of the page compressed with the version
/// before as its prefix (what <c>zstd --patch-from</c> does), so the bytes that stayed, and the bytes that moved within
/// the page (SQLite moves a cell that grows to free space elsewhere in its page), cost a few bytes a run, where a
/// page of an image's incompressible bytes would cost its whole size. Through libzstd where it loads, else ZstdSharp;
/// the frames are the same. One instance per thread at a time: it keeps its contexts between pages.
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

    /// <summary>The most a delta of a page of <paramref name="pageSize"/> bytes can take.</summary>
    public static int Bound(int pageSize) => pageSize + 64;

    /// <summary>Writes <paramref name="page"/> as its change from <paramref name="before"/> into <paramref name="output"/> (at least <see cref="Bound"/>); returns its length.</summary>
    public int Encode(ReadOnlySpan<byte> page, ReadOnlySpan<byte> before, Span<byte> output)
    {
        fixed (byte* src = page)
        fixed (byte* prefix = before)
        fixed (byte* dst = output)
        {
            if (_native)
            {
                _compressor = _compressor != IntPtr.Zero ? _compressor : NativeZstd.NewCompressor(Level);
                NativeZstd.Checked(NativeZstd.ZSTD_CCtx_refPrefix(_compressor, prefix, (nuint)before.Length));
                return (int)NativeZstd.Checked(NativeZstd.ZSTD_compress2(_compressor, dst, (nuint)output.Length, src, (nuint)page.Length));
            }

            if (_compressor == IntPtr.Zero)
            {
                _compressor = (IntPtr)Methods.ZSTD_createCCtx();
                Managed(Methods.ZSTD_CCtx_setParameter((ZSTD_CCtx_s*)_compressor, ZSTD_cParameter.ZSTD_c_compressionLevel, Level));
            }

            Managed(Methods.ZSTD_CCtx_refPrefix((ZSTD_CCtx_s*)_compressor, prefix, (nuint)before.Length));
            return (int)Managed(Methods.ZSTD_compress2((ZSTD_CCtx_s*)_compressor, dst, (nuint)output.Length, src, (nuint)page.Length));
        }
    }

    /// <summary>
    /// Rebuilds into <paramref name="page"/> the page <paramref name="delta"/> makes of <paramref name="before"/>; throws
    /// <see cref="InvalidDataException"/> unless it is one whole frame of exactly a page.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> delta, ReadOnlySpan<byte> before, Span<byte> page)
    {
        nuint made;
        fixed (byte* src = delta)
        fixed (byte* prefix = before)
        fixed (byte* dst = page)
        {
            if (_native)
            {
                _decompressor = _decompressor != IntPtr.Zero ? _decompressor : NativeZstd.NewDecompressor();
                NativeZstd.Checked(NativeZstd.ZSTD_DCtx_refPrefix(_decompressor, prefix, (nuint)before.Length));
                made = NativeZstd.Checked(NativeZstd.ZSTD_decompressDCtx(_decompressor, dst, (nuint)page.Length, src, (nuint)delta.Length));
            }
            else
            {
                _decompressor = _decompressor != IntPtr.Zero ? _decompressor : (IntPtr)Methods.ZSTD_createDCtx();
                Managed(Methods.ZSTD_DCtx_refPrefix((ZSTD_DCtx_s*)_decompressor, prefix, (nuint)before.Length));
                made = Managed(Methods.ZSTD_decompressDCtx((ZSTD_DCtx_s*)_decompressor, dst, (nuint)page.Length, src, (nuint)delta.Length));
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
        }
        else
        {
            if (_compressor != IntPtr.Zero)
            {
                Methods.ZSTD_freeCCtx((ZSTD_CCtx_s*)_compressor);
            }

            if (_decompressor != IntPtr.Zero)
            {
                Methods.ZSTD_freeDCtx((ZSTD_DCtx_s*)_decompressor);
            }
        }

        (_compressor, _decompressor) = (IntPtr.Zero, IntPtr.Zero);
    }

    private static nuint Managed(nuint result) =>
        Methods.ZSTD_isError(result) ? throw new InvalidDataException($"zstd: {new string(Methods.ZSTD_getErrorName(result))}") : result;
}

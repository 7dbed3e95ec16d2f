using System.Runtime.InteropServices;

namespace Cellar.Core.Compression;

/// <summary>
/// The system's libzstd (<c>libzstd.so.1</c>, on every Debian and Ubuntu and in the runtime image), about four times
/// the speed of the managed port on one core, compressing and decompressing. Only the one-shot frame compressor (with
/// or without a dictionary), the one-shot decompressor with a dictionary and the streaming decompressor are used, all
/// stable since 1.4, and the frames are standard ones: either side reads what the other wrote.
/// When the library does not load (or <c>CELLAR_ZSTD=managed</c> says not to use it), ZstdSharp does the work.
/// </summary>
internal static unsafe partial class NativeZstd
{
    private const string Library = "libzstd.so.1";

    /// <summary>The oldest libzstd used: 1.4.0, the first with a stable streaming API as used here.</summary>
    private const uint OldestVersion = 10400;

    /// <summary>True when libzstd is loaded and used.</summary>
    public static bool Available { get; } = Probe();

    /// <summary>The most a block of <paramref name="length"/> bytes compresses to.</summary>
    public static int Bound(int length) => checked((int)ZSTD_compressBound((nuint)length));

    /// <summary>Compresses <paramref name="source"/> into one frame at <paramref name="level"/> in <paramref name="destination"/> (at least <see cref="Bound"/>); returns its length.</summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            return (int)Checked(ZSTD_compress(dst, (nuint)destination.Length, src, (nuint)source.Length, level));
        }
    }

    /// <summary>True when a libzstd call's result is an error code.</summary>
    internal static bool IsError(nuint result) => ZSTD_isError(result) != 0;

    /// <summary>The result of a libzstd call, or an <see cref="InvalidDataException"/> naming its error (as ZstdSharp's errors are caught).</summary>
    internal static nuint Checked(nuint result) =>
        !IsError(result) ? result : throw new InvalidDataException($"zstd: {Marshal.PtrToStringUTF8((IntPtr)ZSTD_getErrorName(result))}");

    /// <summary>A compression context, for one frame at a time with a dictionary (<see cref="PageDelta"/>).</summary>
    internal static IntPtr NewCompressor() =>
        ZSTD_createCCtx() is var context && context != IntPtr.Zero ? context : throw new InvalidOperationException("zstd: libzstd could not make a compression context");

    /// <summary>A decompression context, for one frame at a time with a dictionary (<see cref="PageDelta"/>).</summary>
    internal static IntPtr NewDecompressor() =>
        ZSTD_createDCtx() is var context && context != IntPtr.Zero ? context : throw new InvalidOperationException("zstd: libzstd could not make a decompression context");

    /// <summary>Frees contexts made by <see cref="NewCompressor"/> and <see cref="NewDecompressor"/> (zero: none).</summary>
    internal static void Free(IntPtr compressor, IntPtr decompressor)
    {
        ZSTD_freeCCtx(compressor);
        ZSTD_freeDCtx(decompressor);
    }

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("CELLAR_ZSTD") == "managed")
        {
            return false;
        }

        try
        {
            return ZSTD_versionNumber() >= OldestVersion;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    private static partial uint ZSTD_versionNumber();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(Library)]
    private static partial nuint ZSTD_compress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

    [LibraryImport(Library)]
    private static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static partial byte* ZSTD_getErrorName(nuint code);

    [LibraryImport(Library)]
    private static partial IntPtr ZSTD_createCCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeCCtx(IntPtr context);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_compress_usingDict(IntPtr context, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, byte* dictionary, nuint dictionarySize, int compressionLevel);

    [LibraryImport(Library)]
    private static partial IntPtr ZSTD_createDCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeDCtx(IntPtr context);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_decompress_usingDict(IntPtr context, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, byte* dictionary, nuint dictionarySize);

    [LibraryImport(Library)]
    internal static partial IntPtr ZSTD_createDStream();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_freeDStream(IntPtr stream);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_initDStream(IntPtr stream);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_DStreamInSize();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_decompressStream(IntPtr stream, Buffer* output, Buffer* input);

    /// <summary>ZSTD_inBuffer and ZSTD_outBuffer, which have the same layout: where, how many bytes, how far used.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Buffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Position;
    }
}

namespace Cellar.Core.Compression;

/// <summary>
/// One compression format, cut into independent blocks: each block compresses to a self-contained
/// gzip member or zstd frame, so blocks compress in parallel and the standard tools still read the
/// concatenation as a single stream.
/// </summary>
internal abstract class Codec
{
    /// <summary>The file extension appended to backup names, with its dot, or empty.</summary>
    public abstract string Extension { get; }

    /// <summary>The format this codec writes.</summary>
    public abstract CompressionKind Kind { get; }

    /// <summary>Bytes per independent block: large enough that restarting the dictionary costs nothing measurable.</summary>
    public virtual int BlockSize => 4 << 20;

    /// <summary>Compresses one block into a self-contained member or frame.</summary>
    public abstract byte[] CompressBlock(ReadOnlySpan<byte> block, out int length);

    /// <summary>Wraps a stream of concatenated blocks for reading.</summary>
    public abstract Stream OpenRead(Stream compressed);

    /// <summary>The codec for <paramref name="kind"/> at <paramref name="level"/> (null: the format's default).</summary>
    public static Codec For(CompressionKind kind, int? level = null) => kind switch
    {
        CompressionKind.Gzip => new GzipCodec(level ?? GzipCodec.DefaultLevel),
        CompressionKind.Zstd => new ZstdCodec(level ?? ZstdCodec.DefaultLevel),
        CompressionKind.None => new NoneCodec(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The format's name as a sidecar records it: <c>gzip</c>, <c>zstd</c> or <c>none</c>.</summary>
    public string Name => Kind.ToString().ToLowerInvariant();

    /// <summary>
    /// The codec a sidecar's <see cref="Name"/> names, or null for one this version cannot read. A stored file is read
    /// by what its sidecar records, never by its extension: a file renamed or downloaded under another name still reads.
    /// </summary>
    public static Codec? Named(string name) =>
        Enum.GetValues<CompressionKind>().Select(kind => For(kind)).FirstOrDefault(codec => codec.Name == name);
}

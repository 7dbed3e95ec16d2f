namespace Cellar.Core.Compression;

/// <summary>How a backup is compressed on disk.</summary>
public enum CompressionKind
{
    /// <summary>Gzip members that plain <c>gunzip</c> reads as one stream (the seed's format).</summary>
    Gzip,

    /// <summary>Zstandard frames that plain <c>zstd -d</c> reads as one stream.</summary>
    Zstd,

    /// <summary>Stored as is.</summary>
    None,
}

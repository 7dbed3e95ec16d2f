namespace Cellar.Core.Compression;

/// <summary>
/// A compressed block that does not decompress to exactly the block that went in (a compressor bug, a bit flipped in
/// RAM): the stored file is unsound before it is written, which the artifact's writer reports as a failed verification.
/// </summary>
internal sealed class UnsoundBlockException(string problem) : CellarException(problem);

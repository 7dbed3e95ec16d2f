namespace Cellar.Core.IO;

/// <summary>
/// A write past the largest file allowed (<c>ulimit -f</c>, or the file system's own limit): .NET turns EFBIG into an
/// <see cref="ArgumentOutOfRangeException"/> about a file length, which would read as a bug; this says what it is.
/// </summary>
internal static class FileTooLarge
{
    /// <summary>The words for it.</summary>
    public const string Said = "a file grew past the size limit (ulimit -f, or the largest file the file system takes)";

    /// <summary>True for the exception .NET makes of EFBIG.</summary>
    public static bool Is(Exception e) =>
        e is ArgumentOutOfRangeException { ParamName: "value" } && e.Message.Contains("too large for the file system", StringComparison.Ordinal);
}

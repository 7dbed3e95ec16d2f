namespace Cellar.Core.Configuration;

/// <summary>How a live log was emptied after its lines were archived.</summary>
public enum RotationMethod
{
    /// <summary>The archived head was cut off the file in place (fallocate COLLAPSE_RANGE): nothing can be lost.</summary>
    Collapse,

    /// <summary>The file was renamed, a fresh one created, and the writer told to reopen (signal or HTTP): nothing lost.</summary>
    Signal,

    /// <summary>Copied, then truncated: lines written in between are lost, and counted.</summary>
    CopyTruncate,
}

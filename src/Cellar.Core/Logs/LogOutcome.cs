using Cellar.Core.Catalog;
using Cellar.Core.Configuration;

namespace Cellar.Core.Logs;

/// <summary>What a rotation did with one live log.</summary>
/// <param name="LogPath">The live log.</param>
/// <param name="Status">Rotated, or why not.</param>
/// <param name="Method">How the live file was emptied, when it was.</param>
/// <param name="Archive">The archive written, when one was.</param>
/// <param name="Bytes">Bytes archived.</param>
/// <param name="Lines">Lines archived.</param>
/// <param name="LossWindowMicroseconds">copytruncate only: how long the app could write lines that the truncate then lost (the lines themselves cannot be seen).</param>
/// <param name="Warning">Something the operator should act on (a writer without O_APPEND, NUL bytes left out, a fallback used).</param>
/// <param name="ArchiveSidecar">The archive's sidecar, as it was published.</param>
public sealed record LogOutcome(string LogPath, LogStatus Status, RotationMethod? Method = null, string? Archive = null, long Bytes = 0, long Lines = 0, long? LossWindowMicroseconds = null, string? Warning = null, Sidecar? ArchiveSidecar = null)
{
    /// <summary>What happened to the log, in one line for people (the CLI, status, the demo).</summary>
    public string Describe() => Status switch
    {
        LogStatus.Rotated => $"{LogPath}: {Lines} lines ({Bytes} bytes) archived"
            + (Method is { } method ? $", emptied by {method.ToString().ToLowerInvariant()}" : ", left by an earlier rotation")
            + (Warning is { } warning ? $"; warning: {warning}" : string.Empty),
        LogStatus.Empty => $"{LogPath}: nothing new since the last rotation; skipped",
        LogStatus.NoCompleteLine => $"{LogPath}: only an unfinished line; it waits for the next rotation",
        _ => $"{LogPath}: does not exist; skipped",
    };

    /// <summary>Two warnings as one, in order; either may be missing.</summary>
    internal static string? JoinWarnings(string? first, string? then) => first is null ? then : then is null ? first : $"{first}; {then}";
}

/// <summary>Whether a live log was rotated.</summary>
public enum LogStatus
{
    /// <summary>Archived and emptied.</summary>
    Rotated,

    /// <summary>Nothing new since the last rotation (notifempty).</summary>
    Empty,

    /// <summary>Only an unfinished line, which stays for the next rotation.</summary>
    NoCompleteLine,

    /// <summary>The log does not exist (missingok).</summary>
    Missing,
}

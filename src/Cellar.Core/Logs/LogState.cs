using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>
/// What Cellar knows about one live log between rotations, kept in the job's folder: which file (inode) it
/// rotated, how many bytes at the head of that file are already in archives (a collapse removes whole
/// filesystem blocks, so up to one block of archived lines can stay at the head) with a probe of them, and a
/// collapse in flight, so a crash between archiving and collapsing neither loses nor repeats a line.
/// </summary>
internal sealed record LogState
{
    /// <summary>The live log this is about.</summary>
    public required string Path { get; init; }

    /// <summary>Its inode when last rotated: another inode is another file, none of it archived yet.</summary>
    public ulong Inode { get; init; }

    /// <summary>Bytes at the head of the live file that are already in an archive.</summary>
    public long Archived { get; init; }

    /// <summary>
    /// A probe of those <see cref="Archived"/> bytes, to recognise a file someone else emptied and filled again since;
    /// null when nothing is archived, or in a state written by a version without probes (then the head is trusted).
    /// </summary>
    public ArchivedHead? Head { get; init; }

    /// <summary>Set when cutting failed on this file's filesystem: later rotations use a fallback.</summary>
    public bool CollapseUnsupported { get; init; }

    /// <summary>A collapse about to happen: how many bytes, and the head of the file before and after it.</summary>
    public PendingCollapse? Pending { get; init; }

    /// <summary>An archive about to take its final name, holding this file's bytes up to <see cref="PendingArchive.End"/>.</summary>
    public PendingArchive? Archive { get; init; }

    /// <summary>A copytruncate between its copy and its truncate.</summary>
    public PendingTruncate? Truncate { get; init; }

    /// <summary>
    /// Settles an archive a crash may have interrupted: once its final name exists, the bytes it holds are archived;
    /// before that (the sidecar alone is swept as an orphan) they are not.
    /// </summary>
    public LogState Settled() => Archive is { } archive
        ? (File.Exists(archive.Path) ? this with { Archived = archive.End, Head = archive.Head } : this) with { Archive = null }
        : this;

    /// <summary>
    /// True when the file no longer starts with the bytes this state says are archived: it is shorter, or its head does
    /// not match the probe (emptied by someone else and written again). Without a probe only the length can tell.
    /// </summary>
    public bool HeadReplaced(SafeFileHandle handle) =>
        Archived > 0 && (RandomAccess.GetLength(handle) < Archived || (Head is { } head && !head.Matches(handle, Archived)));

    /// <summary>What the rotation says of a log <see cref="HeadReplaced"/> found emptied by someone else.</summary>
    public static string HeadReplacedWarning(string path, long archived) => string.Create(CultureInfo.InvariantCulture,
        $"{path} no longer starts with the {archived} bytes already archived: something else emptied it since the last rotation (': > file', or an app opening it with O_TRUNC); archived from its start");

    /// <summary>This state with nothing of the file archived.</summary>
    public LogState NothingArchived() => this with { Archived = 0, Head = null };

    /// <summary>Forgets the state of <paramref name="logPath"/> (a renamed log that has been archived and deleted).</summary>
    public static void Delete(string folder, string logPath) => File.Delete(FileFor(folder, logPath));

    /// <summary>The state file of <paramref name="logPath"/> in <paramref name="folder"/>.</summary>
    public static string FileFor(string folder, string logPath) =>
        System.IO.Path.Combine(folder, $".cellar-log-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(logPath)))[..16]}.json");

    /// <summary>The saved state, or a fresh one when there is none (or it is about another path).</summary>
    public static LogState Read(string folder, string logPath)
    {
        var file = FileFor(folder, logPath);
        try
        {
            if (File.Exists(file) && JsonSerializer.Deserialize(SecureFiles.ReadSmall(file), LogStateJson.Default.LogState) is { } state && state.Path == logPath)
            {
                return state;
            }
        }
        catch (JsonException)
        {
            // A damaged state file is treated as none: at worst up to one block of lines is archived twice.
        }

        return new LogState { Path = logPath };
    }

    /// <summary>Saves the state durably before the step it protects.</summary>
    public void Save(string folder) => DurableJson.Write(FileFor(folder, Path), this, LogStateJson.Default.LogState, replace: true);
}

/// <summary>A collapse of <see cref="Bytes"/> bytes that may or may not have happened when Cellar stopped.</summary>
/// <param name="Bytes">The block-aligned length cut off the head.</param>
/// <param name="ArchivedBefore">Archived bytes at the head before the collapse (after it: this minus <see cref="Bytes"/>).</param>
/// <param name="ProbeLength">How many head bytes the two hashes cover.</param>
/// <param name="HeadBefore">SHA-256 of the file's first bytes before the collapse.</param>
/// <param name="HeadAfter">SHA-256 of the bytes that become the head after it.</param>
/// <param name="Retained">The probe of the archived bytes that stay at the head after it (null: none stay, or an older version).</param>
internal sealed record PendingCollapse(long Bytes, long ArchivedBefore, int ProbeLength, string HeadBefore, string HeadAfter, ArchivedHead? Retained = null);

/// <summary>An archive being published: its final name, the end of the bytes of the log it holds, and the probe of those bytes.</summary>
internal sealed record PendingArchive(string Path, long End, ArchivedHead? Head = null);

/// <summary>A copy of the log (inode <paramref name="CopyInode"/>) made from <paramref name="From"/>, whose truncate may not have happened; the live file's head at <paramref name="From"/> tells.</summary>
internal sealed record PendingTruncate(ulong CopyInode, long From, int ProbeLength, string Head);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LogState))]
internal sealed partial class LogStateJson : JsonSerializerContext;

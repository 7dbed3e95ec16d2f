using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Cellar.Core.IO;

/// <summary>
/// A file being written under a hidden temporary name in its final folder. Until <see cref="Commit"/>
/// moves it into place, nothing that lists backups can mistake it for one; disposing an uncommitted
/// temp file deletes it, and a process killed before that leaves a name <see cref="IsTempName"/>
/// recognises so the next run can sweep it.
/// </summary>
internal sealed partial class TempFile : IDisposable
{
    private const string Marker = ".cellar-tmp-";
    private bool _committed;

    private TempFile(string folder, string path)
    {
        Folder = folder;
        Path = path;
    }

    /// <summary>The folder the file will be committed into.</summary>
    public string Folder { get; }

    /// <summary>The temporary path.</summary>
    public string Path { get; }

    /// <summary>Reserves a temp name for <paramref name="finalName"/> in <paramref name="folder"/>.</summary>
    public static TempFile For(string folder, string finalName, string? purpose = null)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var name = $".{finalName}{Marker}{suffix}{(purpose is null ? "" : "." + purpose)}";
        return new TempFile(folder, System.IO.Path.Combine(folder, name));
    }

    /// <summary>True for names this class makes, including SQLite's <c>-wal</c>/<c>-shm</c>/<c>-journal</c> companions.</summary>
    public static bool IsTempName(string fileName) => TempNamePattern().IsMatch(fileName);

    /// <summary>
    /// The temp files (and their SQLite companions) that <see cref="For"/> made in <paramref name="folder"/> for
    /// <paramref name="finalName"/> and <paramref name="purpose"/> (null: those made without one) and a killed process
    /// left behind: the one place besides <see cref="For"/> that knows how a temp name is built.
    /// </summary>
    public static IEnumerable<string> LeftFor(string folder, string finalName, string? purpose = null)
    {
        var prefix = $".{finalName}{Marker}";
        return Directory.EnumerateFiles(folder).Where(path =>
            System.IO.Path.GetFileName(path) is var name
            && name.StartsWith(prefix, StringComparison.Ordinal)
            && TailPattern().Match(name[prefix.Length..]) is { Success: true } tail
            && tail.Groups["purpose"].Value == (purpose ?? ""));
    }

    /// <summary>
    /// Moves the file to <paramref name="finalPath"/>, then syncs the folder so the new name survives a power
    /// loss. Backups never replace an existing file; <paramref name="replace"/> is for small state files, where
    /// <c>rename(2)</c> swaps the old content for the new atomically.
    /// </summary>
    public void Commit(string finalPath, bool replace = false)
    {
        File.Move(Path, finalPath, overwrite: replace);
        _committed = true;
        try
        {
            Fsync.Directory(Folder);
        }
        catch (SyncFailedException) when (!replace)
        {
            // The new name may not survive a power loss: it must not outlive the failed operation either.
            File.Delete(finalPath);
            throw;
        }
    }

    /// <summary>Deletes the temp file (and SQLite companions) unless it was committed.</summary>
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        foreach (var path in new[] { Path, Path + "-wal", Path + "-shm", Path + "-journal" })
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Best effort: the sweep at the next run removes what is left.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    [GeneratedRegex(@"^\..+\.cellar-tmp-[0-9a-f]{8}(\.[a-z]+)?(-wal|-shm|-journal)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TempNamePattern();

    /// <summary>What follows <c>.NAME.cellar-tmp-</c>: the random part, the purpose, a companion's suffix.</summary>
    [GeneratedRegex(@"^[0-9a-f]{8}(\.(?<purpose>[a-z]+))?(-wal|-shm|-journal)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TailPattern();
}

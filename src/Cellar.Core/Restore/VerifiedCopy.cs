using Cellar.Core.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Restore;

/// <summary>
/// The verified copy of a restore, held open from the check to the swap. The folder is the app's, and its user could
/// swap a name for a link to any file between a look and a chown (a root restore once handed a root-only file to the
/// app's user that way): so the copy's owner and mode are set through this descriptor, and every name is checked
/// against it (device and inode) before it is trusted.
/// </summary>
internal sealed partial class VerifiedCopy : IDisposable
{
    /// <summary>0777: a mode copied from another file keeps no setuid, setgid or sticky bit.</summary>
    public const UnixFileMode PermissionBits = (UnixFileMode)0x1FF;

    private readonly SafeFileHandle? _handle; // null on Windows, where none of this applies
    private readonly string _path;
    private readonly string _folder;

    private VerifiedCopy(SafeFileHandle? handle, string path, string folder)
    {
        _handle = handle;
        _path = path;
        _folder = folder;
    }

    /// <summary>
    /// Opens the copy at <paramref name="path"/> without following links and makes sure it is the very file the check
    /// wrote (<paramref name="created"/>, device and inode): a name in the app's folder can have been swapped since.
    /// </summary>
    public static VerifiedCopy Open(string path, UnixFiles.FileId? created, string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return new VerifiedCopy(null, path, folder);
        }

        SafeFileHandle handle;
        try
        {
            handle = UnixFiles.OpenNoFollow(path, NativeMethods.ORdonly);
        }
        catch (IOException e)
        {
            throw Swapped(path, folder, e);
        }

        if (UnixFiles.FStat(handle) is not { IsRegularFile: true } stat || (created is { } id && stat.Id != id))
        {
            handle.Dispose();
            throw Swapped(path, folder);
        }

        return new VerifiedCopy(handle, path, folder);
    }

    /// <summary>Throws when <paramref name="name"/> no longer names this copy.</summary>
    public void RefuseIfSwapped(string name)
    {
        if (_handle is not null && UnixFiles.FStat(_handle)?.Id is { } id && UnixFiles.LStat(name)?.Id != id)
        {
            throw Swapped(name, _folder);
        }
    }

    /// <summary>
    /// Gives the copy the owner, group and mode of the file it replaces (<paramref name="reference"/>, when
    /// <paramref name="referenceIsFile"/>), or, with none, the owner and group of the folder and mode 0600. Changing
    /// the owner takes root; without it a differing owner is a warning. The file replaced is looked at by its name
    /// without following a link: its owner and mode are only copied, never changed.
    /// </summary>
    public void MatchOwnership(string reference, bool referenceIsFile, ILogger logger)
    {
        if (_handle is null || OperatingSystem.IsWindows())
        {
            return;
        }

        var wanted = referenceIsFile ? UnixFiles.LStat(reference) : UnixFiles.Stat(reference);
        if (wanted is { } link && referenceIsFile && !link.IsRegularFile)
        {
            wanted = null; // swapped for a link or a special file since it was checked: its owner means nothing
        }

        if (wanted is { } w && UnixFiles.FStat(_handle) is { } c)
        {
            if (c.Uid != w.Uid || c.Gid != w.Gid)
            {
                if (!UnixFiles.IsRoot)
                {
                    LogOwnerNotChanged(logger, _path, c.Uid, c.Gid, w.Uid, w.Gid, reference);
                }
                else if (UnixFiles.FChown(_handle, w.Uid, w.Gid) is var errno and not 0)
                {
                    LogChownFailed(logger, w.Uid, w.Gid, _path, UnixFiles.Describe(errno));
                }
            }
        }
        else
        {
            LogOwnerUnknown(logger, reference);
        }

        File.SetUnixFileMode(_handle, referenceIsFile && wanted is { } known ? (UnixFileMode)known.Mode & PermissionBits : SecureFiles.FileMode);
    }

    public void Dispose() => _handle?.Dispose();

    private static CellarException Swapped(string path, string folder, Exception? inner = null) =>
        new($"{path} is no longer the verified copy (another process in {folder} replaced it); nothing was restored", inner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "restored file {Target} is owned by {Uid}:{Gid}, not {WantedUid}:{WantedGid} like {Reference}; only root can change that")]
    private static partial void LogOwnerNotChanged(ILogger logger, string target, uint uid, uint gid, uint wantedUid, uint wantedGid, string reference);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot give {Uid}:{Gid} to the restored file {Target}: {Error}")]
    private static partial void LogChownFailed(ILogger logger, uint uid, uint gid, string target, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot read the owner of {Reference}; the restored file keeps Cellar's user as owner")]
    private static partial void LogOwnerUnknown(ILogger logger, string reference);
}

namespace Cellar.Core.IO;

/// <summary>
/// Backups hold the app's whole data, so they are created owner-only (files 0600, folders 0700)
/// whatever the umask says.
/// </summary>
internal static class SecureFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates the folder and its missing parents, each owner-only, and syncs each new name into its parent, so a
    /// backup written into a folder created a moment ago does not vanish with the folder at a power loss. An existing
    /// folder keeps its mode.
    /// </summary>
    public static void EnsureFolder(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        if (parent is not null)
        {
            EnsureFolder(parent);
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, FolderMode);
        if (parent is not null)
        {
            Fsync.Directory(parent);
        }
    }

    /// <summary>Opens a new file for writing that nobody else can read, failing if it exists.</summary>
    public static FileStream CreateNew(string path, int bufferSize = 1 << 20)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = bufferSize,
            Options = FileOptions.SequentialScan,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    /// <summary>
    /// Reads a small file Cellar wrote (a sidecar, a state or ledger file) without following a link planted under its
    /// name, and at most <paramref name="maxBytes"/>: a FIFO or a huge file under that name fails the read instead of
    /// hanging it or filling memory. <see cref="FileNotFoundException"/> when it does not exist.
    /// </summary>
    public static byte[] ReadSmall(string path, int maxBytes = 16 << 20)
    {
        if (OperatingSystem.IsWindows())
        {
            return File.ReadAllBytes(path);
        }

        using var handle = UnixFiles.OpenNoFollow(path, NativeMethods.ORdonly | NativeMethods.ONonBlock);
        if (UnixFiles.FStat(handle) is { } stat && (!stat.IsRegularFile || stat.Size > maxBytes))
        {
            throw new IOException(stat.IsRegularFile ? $"{path} is larger than {maxBytes} bytes; not read" : $"{path} is {stat.TypeName}, not a regular file; not read");
        }

        var length = RandomAccess.GetLength(handle);
        var bytes = new byte[length];
        var read = 0;
        while (read < length && RandomAccess.Read(handle, bytes.AsSpan(read), read) is var n and > 0)
        {
            read += n;
        }

        return read == length ? bytes : bytes[..read];
    }

    /// <summary>The event name of the warning about a folder others can write, which the CLI shows on stderr.</summary>
    public const string OthersCanWriteEventName = "OthersCanWrite";

    /// <summary>
    /// Says once per folder (through <paramref name="warn"/>) when Cellar runs as root in a folder another user can
    /// write: that user could plant links under the names Cellar uses. Cellar opens every file there without following
    /// links, so this is a warning, not a refusal; the fix is a folder only root can write (or running as its owner).
    /// </summary>
    public static void WarnIfOthersCanWrite(string folder, Action<string> warn)
    {
        if (!UnixFiles.IsRoot || !Warned.TryAdd(folder, true) || UnixFiles.Stat(folder) is not { } stat)
        {
            return;
        }

        const uint GroupOrOtherWrite = 0x12; // S_IWGRP | S_IWOTH
        if (stat.Uid != 0 || (stat.Mode & GroupOrOtherWrite) != 0)
        {
            warn($"running as root in {folder}, which {(stat.Uid != 0 ? $"uid {stat.Uid} owns" : "group or others can write")}: files there are opened without following links, but a folder only root can write is safer (or run Cellar as its owner)");
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Warned = new(StringComparer.Ordinal);
}

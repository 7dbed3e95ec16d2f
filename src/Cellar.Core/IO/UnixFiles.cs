using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// The libc file calls a restore needs and .NET does not expose: hard links, owner, group, type and identity of a
/// file (stat/chown), locks on folders (flock), the effective user, and canonical paths. Linux only where a struct
/// layout is involved (x86_64, aarch64); elsewhere the answers are "unknown" and callers carry on without them.
/// </summary>
internal static partial class UnixFiles
{
    public const int EPerm = 1;
    public const int ENoent = 2;
    public const int EExist = 17;
    public const int ELoop = 40;
    private const int EWouldBlockLinux = 11;
    private const int EWouldBlockBsd = 35;

    private const uint FileTypeMask = 0xF000; // S_IFMT
    private const uint RegularFileType = 0x8000; // S_IFREG
    private const int LockExclusive = 2; // LOCK_EX
    private const int LockNonBlocking = 4; // LOCK_NB

    /// <summary>Owner, group, type and permission bits of a file, its identity (device and inode) and its filesystem's block size.</summary>
    public readonly record struct FileStat(uint Uid, uint Gid, uint Mode, ulong Inode, long BlockSize, ulong Device)
    {
        /// <summary>The file itself, whichever name (hard link, bind mount, /proc/PID/fd link) it is reached by.</summary>
        public FileId Id => new(Device, Inode);

        /// <summary>How many names (hard links) the file has.</summary>
        public ulong Links { get; init; }

        /// <summary>Its size in bytes.</summary>
        public long Size { get; init; }

        /// <summary>True for a regular file: not a folder, FIFO, socket or device node.</summary>
        public bool IsRegularFile => (Mode & FileTypeMask) == RegularFileType;

        /// <summary>The file type in words, for messages ("a FIFO", "a character device").</summary>
        public string TypeName => (Mode & FileTypeMask) switch
        {
            RegularFileType => "a regular file",
            0x4000 => "a folder",
            0xA000 => "a symbolic link",
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            _ => "a special file",
        };
    }

    /// <summary>What tells one file from every other on the machine: st_dev and st_ino.</summary>
    public readonly record struct FileId(ulong Device, ulong Inode);

    /// <summary>True when this process runs with effective user id 0.</summary>
    public static bool IsRoot => !OperatingSystem.IsWindows() && GetEuid() == 0;

    /// <summary>
    /// Creates <paramref name="newPath"/> as a second name of <paramref name="existingPath"/> (link(2)); returns 0,
    /// or the errno (EEXIST when the new name is taken; EPERM and others where the filesystem has no hard links).
    /// </summary>
    public static int Link(string existingPath, string newPath)
    {
        if (OperatingSystem.IsWindows())
        {
            return EPerm;
        }

        return LinkNative(existingPath, newPath) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Owner, group, mode, device, inode and block size of <paramref name="path"/> (following symlinks, so a
    /// <c>/proc/PID/fd/N</c> link gives the open file), or null where that cannot be read.
    /// </summary>
    public static FileStat? Stat(string path) => Read(buffer =>
    {
        try
        {
            return StatNative(path, buffer); // exported since glibc 2.33, and by musl
        }
        catch (EntryPointNotFoundException)
        {
            return XStatNative(StatVersion, path, buffer); // older glibc
        }
    });

    /// <summary>As <see cref="Stat"/>, of the name itself: a symbolic link is described, not followed.</summary>
    public static FileStat? LStat(string path) => Read(buffer =>
    {
        try
        {
            return LStatNative(path, buffer);
        }
        catch (EntryPointNotFoundException)
        {
            return LXStatNative(StatVersion, path, buffer);
        }
    });

    /// <summary>
    /// As <see cref="Stat"/>, of an open file: what was opened, whatever its name has come to point to since. The
    /// one way to learn about a file in a folder someone else can write without racing them.
    /// </summary>
    public static FileStat? FStat(SafeFileHandle handle)
    {
        var fd = (int)handle.DangerousGetHandle();
        return Read(buffer =>
        {
            try
            {
                return FStatNative(fd, buffer);
            }
            catch (EntryPointNotFoundException)
            {
                return FXStatNative(StatVersion, fd, buffer);
            }
        });
    }

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="flags"/> plus O_NOFOLLOW and O_CLOEXEC (creating it with
    /// <paramref name="mode"/> when the flags say O_CREAT): a symbolic link planted under the name fails the open
    /// instead of redirecting it. Throws <see cref="IOException"/> naming the path; ENOENT as
    /// <see cref="FileNotFoundException"/>.
    /// </summary>
    public static SafeFileHandle OpenNoFollow(string path, int flags, UnixFileMode mode = SecureFiles.FileMode)
    {
        var fd = NativeMethods.Open(path, flags | NativeMethods.ONoFollow | NativeMethods.OCloexec, (int)mode);
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            ENoent => new FileNotFoundException($"{path} does not exist", path),
            ELoop => new IOException($"{path} is a symbolic link; Cellar does not follow links where others may plant them", ELoop),
            _ => new IOException($"cannot open {path}: {Describe(errno)}", errno),
        };
    }

    /// <summary>Sets owner and group of an open file (fchown); returns 0 or the errno.</summary>
    public static int FChown(SafeFileHandle handle, uint uid, uint gid) =>
        FChownNative((int)handle.DangerousGetHandle(), uid, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Tries once to take an exclusive flock(2) on an open file; 0, or EWOULDBLOCK while another holds it, or another errno.</summary>
    public static int TryLock(SafeFileHandle handle) =>
        FlockNative((int)handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0 ? 0 : Marshal.GetLastPInvokeError();

    // struct stat: x86_64 has st_nlink (8 bytes) before st_mode; the generic layout (aarch64) has st_mode first and a
    // 4-byte st_nlink after it. The 8-byte st_dev comes first and st_ino follows it, st_size sits at byte 48 and
    // st_blksize at byte 56, in both layouts.
    private static int StatVersion => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0;

    private static unsafe FileStat? Read(Func<nint, int> call)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        if (!x64 && RuntimeInformation.ProcessArchitecture != Architecture.Arm64)
        {
            return null;
        }

        var buffer = stackalloc byte[512]; // sizeof(struct stat) is 144 on x86_64, 128 on aarch64.
        if (call((nint)buffer) != 0)
        {
            return null;
        }

        var (modeAt, uidAt, gidAt) = x64 ? (24, 28, 32) : (16, 24, 28);
        var links = x64 ? *(ulong*)(buffer + 16) : *(uint*)(buffer + 20);
        var blockSize = x64 ? *(long*)(buffer + 56) : *(int*)(buffer + 56);
        return new FileStat(*(uint*)(buffer + uidAt), *(uint*)(buffer + gidAt), *(uint*)(buffer + modeAt), *(ulong*)(buffer + 8), blockSize, *(ulong*)buffer)
        {
            Links = links,
            Size = *(long*)(buffer + 48),
        };
    }

    /// <summary>
    /// Opens <paramref name="folder"/> read-only as a folder (O_RDONLY|O_DIRECTORY|O_CLOEXEC), which creates nothing
    /// in it, and tries once to take an exclusive flock(2) on it. Returns 0 with the open folder in
    /// <paramref name="handle"/> (closing it drops the lock), EWOULDBLOCK while another descriptor holds the lock, or
    /// another errno where the folder cannot be opened or locked (some network file systems).
    /// </summary>
    public static int TryLockFolder(string folder, out SafeFileHandle? handle)
    {
        handle = null;
        if (OperatingSystem.IsWindows())
        {
            return EPerm;
        }

        var fd = NativeMethods.Open(folder, NativeMethods.ORdonly | NativeMethods.ODirectory | NativeMethods.OCloexec);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        var opened = new SafeFileHandle(fd, ownsHandle: true);
        var errno = TryLock(opened);
        if (errno != 0)
        {
            opened.Dispose();
            return errno;
        }

        handle = opened;
        return 0;
    }

    /// <summary>True for the errno <see cref="TryLockFolder"/> returns while another descriptor holds the lock.</summary>
    public static bool IsHeldByAnother(int errno) => errno is EWouldBlockLinux or EWouldBlockBsd;

    /// <summary>
    /// The canonical path (realpath(3): symlinks resolved, no <c>.</c> or <c>..</c>) of an existing path, or null
    /// when it does not exist or cannot be resolved.
    /// </summary>
    public static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var resolved = RealPathNative(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    /// <summary>The text of an errno, for one-line messages.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string existingPath, string newPath);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatNative(string path, nint buffer);

    [LibraryImport("libc", EntryPoint = "__xstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int XStatNative(int version, string path, nint buffer);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStatNative(string path, nint buffer);

    [LibraryImport("libc", EntryPoint = "__lxstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LXStatNative(int version, string path, nint buffer);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStatNative(int fd, nint buffer);

    [LibraryImport("libc", EntryPoint = "__fxstat", SetLastError = true)]
    private static partial int FXStatNative(int version, int fd, nint buffer);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FChownNative(int fd, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}

using System.Runtime.InteropServices;

namespace Cellar.Core.IO;

/// <summary>The few libc calls .NET does not expose: fsync of a directory, O_APPEND, a thread's CPU niceness, collapsing a file's head, signals.</summary>
internal static partial class NativeMethods
{
    public const int ORdonly = 0;
    public const int OWronly = 1;
    public const int ORdwr = 2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int OAppend = 0x400;
    public const int ONonBlock = 0x800;
    public const int OCloexec = 0x80000;

    // arm64 keeps the values of 32-bit ARM for these two; x86_64 has the generic ones.
    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    public static int ODirectory => Arm64 ? 0x4000 : 0x10000;

    public static int ONoFollow => Arm64 ? 0x8000 : 0x20000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    public static partial int SetPriority(int which, int who, int priority);

    /// <summary>getpriority(2): the niceness (of the calling thread, with <see cref="PrioProcess"/> and 0); -1 is also what an error returns.</summary>
    [LibraryImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    public static partial int GetPriority(int which, int who);

    /// <summary>fallocate(2) mode that removes a block-aligned range and shifts the rest of the file down (ext4, XFS).</summary>
    public const int FallocFlCollapseRange = 0x08;

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}

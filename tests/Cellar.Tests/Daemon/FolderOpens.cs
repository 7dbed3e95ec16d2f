using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Cellar.Tests.Daemon;

/// <summary>
/// Which files any process opens in a folder (the folder itself included, as opendir(3) does), as the kernel tells it
/// through inotify(7): a real observation of a folder being read, where timestamps depend on mount options.
/// </summary>
internal sealed class FolderOpens : IDisposable
{
    private const int NonBlocking = 0x800; // IN_NONBLOCK
    private const int CloseOnExec = 0x80000; // IN_CLOEXEC
    private const uint Opened = 0x20; // IN_OPEN

    private readonly int _fd;

    public FolderOpens(params string[] folders)
    {
        _fd = InotifyInit(NonBlocking | CloseOnExec);
        if (_fd < 0)
        {
            throw new InvalidOperationException($"inotify_init1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        foreach (var folder in folders)
        {
            if (AddWatch(_fd, folder, Opened) < 0)
            {
                throw new InvalidOperationException($"inotify_add_watch {folder} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>The names opened since the last call ("." for a folder itself).</summary>
    public IReadOnlyList<string> Take()
    {
        var names = new List<string>();
        var buffer = new byte[64 << 10];
        nint read;
        while ((read = Read(_fd, buffer, buffer.Length)) > 0)
        {
            // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
            for (var at = 0; at < read;)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 12));
                var name = Encoding.UTF8.GetString(buffer, at + 16, length).TrimEnd('\0');
                names.Add(name.Length == 0 ? "." : name);
                at += 16 + length;
            }
        }

        return names;
    }

    public void Dispose() => _ = Close(_fd);

    // DllImport rather than LibraryImport: the test project does not allow unsafe code, which the generator emits.
    [DllImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static extern int InotifyInit(int flags);

    [DllImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    private static extern int AddWatch(int fd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mask);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}

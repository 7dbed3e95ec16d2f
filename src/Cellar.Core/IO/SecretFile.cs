using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.IO;

/// <summary>
/// The one check every file holding a secret passes (the encryption key, the API and metrics tokens, S3
/// credentials), like ssh with a private key: a regular file, owned by the user Cellar runs as, that group and others
/// cannot access. A file another user owns is that user's to rewrite (a root Cellar would take their key or
/// credentials), and one that others can read is no longer a secret.
/// </summary>
internal static partial class SecretFile
{
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// The content of <paramref name="path"/> (at most <paramref name="maxBytes"/>), or a <see cref="ConfigException"/>
    /// naming <paramref name="what"/>, the file and the fix. The checks are made on the open file, not on the name, so
    /// a name swapped between the check and the read cannot slip another file in. <paramref name="expected"/>, when
    /// given, says what the file should hold in the error for a file that is too long.
    /// </summary>
    public static byte[] Read(string path, string what, long maxBytes, string? expected = null)
    {
        // Checked before opening: opening a FIFO for reading waits for a writer. The real check is on the handle below.
        if (UnixFiles.Stat(path) is { IsRegularFile: false } named)
        {
            throw new ConfigException($"{what} {path} is {named.TypeName}, not a regular file");
        }

        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Check(handle, path, what);
            var length = RandomAccess.GetLength(handle);
            if (length > maxBytes)
            {
                throw new ConfigException($"{what} {path} is {length} bytes long: expected {expected ?? $"at most {maxBytes} bytes"}");
            }

            var content = new byte[length];
            var read = 0;
            while (read < content.Length && RandomAccess.Read(handle, content.AsSpan(read), read) is > 0 and var n)
            {
                read += n;
            }

            return read == content.Length ? content : content[..read];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read {what} {path}: {e.Message}", e);
        }
    }

    private static void Check(SafeFileHandle handle, string path, string what)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // /proc/self/fd/N names the open file itself (fstat(2) by another door), whatever has happened to the path since.
        // UnixFiles.Stat answers on Linux (x86_64, aarch64) only; elsewhere the owner goes unchecked and the mode below still counts.
        if (UnixFiles.Stat($"/proc/self/fd/{handle.DangerousGetHandle()}") is { } opened)
        {
            if (!opened.IsRegularFile)
            {
                throw new ConfigException($"{what} {path} is {opened.TypeName}, not a regular file");
            }

            var user = GetEuid();
            if (opened.Uid != user)
            {
                throw new ConfigException($"{what} {path} is owned by uid {opened.Uid}, not by uid {user} that Cellar runs as, so its owner can change it: chown {user} {path} (and chmod 600 {path})");
            }
        }

        // File.GetUnixFileMode of a handle is an fstat(2) too, and works where /proc does not (macOS).
        var mode = File.GetUnixFileMode(handle);
        if ((mode & GroupOrOthers) != 0)
        {
            throw new ConfigException($"{what} {path} is accessible by group or others (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); make it owner-only: chmod 600 {path}");
        }
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}

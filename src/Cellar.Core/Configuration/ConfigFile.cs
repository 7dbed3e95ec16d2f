using Cellar.Core.IO;

namespace Cellar.Core.Configuration;

/// <summary>
/// Reads the config file, which must be a regular file (a symbolic link to one is fine) of at most 1 MiB: a real
/// config is a few KiB, and <c>--config /dev/zero</c> would otherwise fill memory and a FIFO block forever.
/// </summary>
internal static class ConfigFile
{
    /// <summary>The largest config read: far more than any real one.</summary>
    public const int MaxBytes = 1 << 20;

    private const uint TypeMask = 0xF000; // S_IFMT
    private const uint Regular = 0x8000; // S_IFREG

    /// <summary>The bytes of <paramref name="path"/>, or a <see cref="ConfigException"/> saying why they are not a config.</summary>
    public static MemoryStream Read(string path)
    {
        // Checked before opening: opening a FIFO for reading waits for a writer.
        if (UnixFiles.Stat(path) is { } stat && (stat.Mode & TypeMask) != Regular)
        {
            throw new ConfigException($"config {path} is not a regular file (a device, FIFO or socket); give the path of a JSON file");
        }

        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            var content = new MemoryStream();
            var buffer = new byte[64 << 10];
            int read;
            while ((read = file.Read(buffer)) > 0)
            {
                content.Write(buffer, 0, read);
                if (content.Length > MaxBytes)
                {
                    throw new ConfigException($"config {path} is larger than 1 MiB, far more than any config; is it the right file?");
                }
            }

            content.Position = 0;
            return content;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ConfigException($"config {path} cannot be read: {e.Message.Split('\n')[0].Trim()}", e);
        }
    }
}

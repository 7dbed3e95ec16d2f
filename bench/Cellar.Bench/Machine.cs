using System.Globalization;
using System.Runtime.InteropServices;

namespace Cellar.Bench;

/// <summary>What the numbers were measured on.</summary>
internal sealed record Machine(
    int Cores,
    string Cpu,
    string Ram,
    string Kernel,
    string Disk,
    string Runtime,
    string Sqlite,
    string Gzip,
    string Zstd)
{
    public static async Task<Machine> DescribeAsync(string workDir)
    {
        var cpu = ReadLines("/proc/cpuinfo")
            .Where(l => l.StartsWith("model name", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
            .FirstOrDefault() ?? "unknown";
        var memKb = ReadLines("/proc/meminfo")
            .Where(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture))
            .FirstOrDefault();
        var kernel = ReadLines("/proc/sys/kernel/osrelease").FirstOrDefault()?.Trim() ?? RuntimeInformation.OSDescription;

        return new Machine(
            Environment.ProcessorCount,
            cpu,
            string.Create(CultureInfo.InvariantCulture, $"{memKb / 1024.0 / 1024.0:0.0} GiB"),
            kernel,
            await DiskAsync(workDir).ConfigureAwait(false),
            RuntimeInformation.FrameworkDescription,
            await VersionAsync("sqlite3", "--version").ConfigureAwait(false),
            await VersionAsync("gzip", "--version").ConfigureAwait(false),
            await VersionAsync("zstd", "--version").ConfigureAwait(false));
    }

    /// <summary>The 1-, 5- and 15-minute load averages (anything else running skews the figures).</summary>
    public static string LoadAverage()
    {
        var parts = (ReadLines("/proc/loadavg").FirstOrDefault() ?? "").Split(' ');
        return parts.Length >= 3 ? $"{parts[0]} {parts[1]} {parts[2]}" : "unknown";
    }

    /// <summary>The 1-minute load average, or NaN when unknown.</summary>
    public static double OneMinuteLoad() => Cellar.Core.IO.SystemLoad.OneMinute();

    private static async Task<string> DiskAsync(string workDir)
    {
        var df = await Proc.RunAsync("df", ["-h", "--output=source,fstype,size,avail", workDir]).ConfigureAwait(false);
        var line = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).FirstOrDefault();
        if (line is null)
        {
            return "unknown";
        }

        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var source = fields[0];
        var device = Path.GetFileName(source);
        var rotational = ReadLines($"/sys/block/{device}/queue/rotational").FirstOrDefault()?.Trim() switch
        {
            "0" => "non-rotational",
            "1" => "rotational",
            _ => "rotational: unknown",
        };
        var kind = device.StartsWith("vd", StringComparison.Ordinal) ? "virtio block device" : "block device";
        return fields.Length >= 4
            ? $"{source} ({kind}, {rotational}), {fields[1]}, {fields[2]} total, {fields[3]} free; work dir {workDir}"
            : $"{source}; work dir {workDir}";
    }

    private static async Task<string> VersionAsync(string tool, string flag)
    {
        try
        {
            var result = await Proc.RunAsync(tool, [flag]).ConfigureAwait(false);
            var text = (result.Stdout + "\n" + result.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
            return tool == "sqlite3" ? string.Join(' ', text.Split(' ').Take(2)) : text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

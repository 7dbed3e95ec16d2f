using Cellar.Core.Sqlite;

namespace Cellar.Core.Logs;

/// <summary>
/// Who has a log open for writing, and whether with O_APPEND: cutting the head off a file (or truncating it)
/// under a writer that keeps its own offset makes that writer's next line land at its old offset, leaving a
/// NUL-filled hole as large as the old file. Writers in another PID namespace (another container) are not
/// visible here; the archive (<see cref="LogText"/>) leaves their holes out afterwards and says so.
/// </summary>
internal static class LogWriters
{
    private const int AccessModeMask = 3;
    private const int OAppend = 0x400;

    /// <summary>Processes writing <paramref name="path"/>, each with whether it appends.</summary>
    public static IReadOnlyList<LogWriter> Find(string path)
    {
        var targets = WriterDetector.NamesOf(path).SelectMany(n => new[] { n, n + " (deleted)" }).ToHashSet(StringComparer.Ordinal);
        return WriterDetector.OpenDescriptors(targets, "/proc", Environment.ProcessId, out _)
            .Where(d => (d.Flags & AccessModeMask) != 0)
            .Select(d => new LogWriter(d.Pid, d.Name, (d.Flags & OAppend) != 0))
            .Distinct()
            .ToList();
    }
}

/// <summary>A process writing a log.</summary>
internal sealed record LogWriter(int Pid, string Name, bool Appends);

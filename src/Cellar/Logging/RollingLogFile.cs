using System.Globalization;
using Cellar.Core.IO;

namespace Cellar.Logging;

/// <summary>
/// One of Cellar's own log files (<c>backup.log</c>, <c>maintenance.log</c>), rolled by whichever process writes
/// to it: when it passes <see cref="MaxBytes"/> or a new day begins it is renamed to <c>NAME-YYYY-MM-DD[-N].log</c>
/// and a fresh one started, and rolled files older than <see cref="KeepDays"/> are deleted. The daemon and a CLI run
/// may write the same file at once: the roll happens under an exclusive flock on <c>.cellar-logs.lock</c>, and a
/// process whose file was rolled by the other notices (the name now points to another inode) and reopens.
/// </summary>
internal sealed class RollingLogFile(string path, TimeProvider time) : IDisposable
{
    /// <summary>A file is rolled once it would grow past this.</summary>
    public const long MaxBytes = 10 << 20;

    /// <summary>Rolled files are kept this long.</summary>
    public const int KeepDays = 30;

    private AppendOnlyFile? _file;
    private ulong _inode;

    /// <summary>Appends one line, rolling the file first when it is due.</summary>
    public void Append(ReadOnlySpan<byte> line)
    {
        var now = time.GetUtcNow();
        if (_file is null || UnixFiles.LStat(path) is not { } current || current.Inode != _inode)
        {
            Reopen();
        }

        if (Due(now, line.Length))
        {
            Roll(now);
        }

        _file!.Append(line);
    }

    public void Dispose() => _file?.Dispose();

    private bool Due(DateTimeOffset now, int adding)
    {
        var info = new FileInfo(path);
        return info.Exists && info.Length > 0 && (info.Length + adding > MaxBytes || info.LastWriteTimeUtc.Date != now.UtcDateTime.Date);
    }

    /// <summary>Renames the full (or yesterday's) file aside under the lock; another process may have done it already.</summary>
    private void Roll(DateTimeOffset now)
    {
        var folder = Path.GetDirectoryName(path)!;
        Microsoft.Win32.SafeHandles.SafeFileHandle guard;
        try
        {
            // The log folder is often the app's: never through a link planted under the lock's name.
            guard = UnixFiles.OpenNoFollow(Path.Combine(folder, ".cellar-logs.lock"), NativeMethods.ORdwr | NativeMethods.OCreat);
        }
        catch (IOException)
        {
            return; // no lock file possible (read-only, full, a link): the line goes to the current file, a log line is never dropped
        }

        using (guard)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            int errno;
            while ((errno = UnixFiles.TryLock(guard)) != 0)
            {
                if (!UnixFiles.IsHeldByAnother(errno) || waited.Elapsed >= TimeSpan.FromSeconds(2))
                {
                    return; // a roller stuck for 2 s: the line goes to the current file
                }

                // Someone else is rolling: wait for the fresh file rather than keep filling the full one.
                Thread.Sleep(1);
            }

            RollLocked(now);
        }
    }

    private void RollLocked(DateTimeOffset now)
    {
        var current = UnixFiles.LStat(path);
        if (current is { } stat && stat.Inode == _inode && Due(now, 0))
        {
            var day = new FileInfo(path).LastWriteTimeUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            File.Move(path, RolledName(day));
            DeleteOld(now);
        }

        Reopen();
    }

    private void Reopen()
    {
        _file?.Dispose();
        _file = AppendOnlyFile.Open(path);
        _inode = _file.Inode;
    }

    private string RolledName(string day)
    {
        var stem = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}-{day}");
        return FreeName.First(n => n == 0 ? stem + ".log" : $"{stem}-{n + 1}.log", File.Exists);
    }

    private void DeleteOld(DateTimeOffset now)
    {
        var folder = Path.GetDirectoryName(path)!;
        var prefix = Path.GetFileNameWithoutExtension(path) + "-";
        foreach (var rolled in Directory.EnumerateFiles(folder, prefix + "*.log"))
        {
            var name = Path.GetFileName(rolled);
            if (name.Length >= prefix.Length + 10
                && DateTime.TryParseExact(name.AsSpan(prefix.Length, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day)
                && day < now.UtcDateTime.Date.AddDays(-KeepDays))
            {
                try
                {
                    File.Delete(rolled);
                }
                catch (IOException)
                {
                    // Retention of Cellar's own logs is best effort.
                }
            }
        }
    }
}

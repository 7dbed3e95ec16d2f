using System.Globalization;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Verification;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Restore;

/// <summary>
/// Restores a snapshot backup: verify it in full into a temp file beside the target, fsync, then atomically
/// swap it in. An existing target (with its <c>-wal</c>, which would otherwise be replayed into the restored
/// file) is kept as <c>PATH.pre-restore-YYYYMMDD-HHMMSS</c>.
/// </summary>
public sealed partial class RestoreService(TimeProvider time, TimeZoneInfo zone, ILogger<RestoreService> logger)
{
    /// <summary>Restores <paramref name="backupPath"/> to <paramref name="targetPath"/>.</summary>
    public async Task<RestoreResult> RestoreAsync(string backupPath, string targetPath, bool force, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(targetPath);
        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
        {
            throw new CellarException($"cannot restore to {target}: folder {folder} does not exist");
        }

        var exists = File.Exists(target);
        if (exists && !force)
        {
            throw new ConfigException($"{target} exists; pass --force to replace it (the old file is kept as {Path.GetFileName(target)}.pre-restore-…)");
        }

        if (exists && WriterDetector.Find(target) is [var (pid, name), ..])
        {
            throw new CellarException($"{target} is open for writing by process {pid} ({name}); stop it before restoring");
        }

        using var expanded = TempFile.For(folder, Path.GetFileName(target));
        var stage = progress is null ? null : new Progress<double>(f => progress.Report(new JobProgress("verify", f)));
        var result = await BackupVerifier.ExpandAndCheckAsync(backupPath, expanded.Path, stage, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new CellarException($"refusing to restore {backupPath}: {result.Problems[0]}");
        }

        string? saved = null;
        if (exists)
        {
            var stamp = TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
            saved = $"{target}.pre-restore-{stamp}";
            File.Move(target, saved, overwrite: false);
            foreach (var companion in new[] { "-wal", "-shm", "-journal" })
            {
                if (File.Exists(target + companion))
                {
                    File.Move(target + companion, saved + companion, overwrite: false);
                }
            }
        }

        expanded.Commit(target);
        LogRestored(logger, backupPath, target, saved ?? "none");
        return new RestoreResult(target, saved, result.Sidecar!);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "restored {Backup} to {Target} (previous file kept as {Saved})")]
    private static partial void LogRestored(ILogger logger, string backup, string target, string saved);
}

/// <summary>A finished restore.</summary>
/// <param name="Target">The restored database.</param>
/// <param name="SavedPrevious">Where the replaced database was moved, if there was one.</param>
/// <param name="Sidecar">The restored backup's sidecar.</param>
public sealed record RestoreResult(string Target, string? SavedPrevious, Catalog.Sidecar Sidecar);

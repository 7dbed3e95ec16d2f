using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Verification;

/// <summary>
/// The daemon's scheduled check of stored backups: the full restore drill (<see cref="BackupVerifier"/>) on every
/// job's backups, newest first, until the time budget is spent, so bit rot is found before a restore needs the
/// file. Each bad backup is logged as an error with its problem.
/// </summary>
public static partial class VerifySweep
{
    /// <summary>Checks backups until <paramref name="budget"/> has passed; returns the checked and the bad ones.</summary>
    public static async Task<SweepResult> RunAsync(CellarConfig config, TimeProvider time, TimeSpan budget, ILogger logger, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var backups = config.Jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone).Select(e => (Job: j, Entry: e)))
            .OrderByDescending(b => b.Entry.Created).ToList();
        var bad = new List<VerificationResult>();
        var checkedCount = 0;
        foreach (var (job, backup) in backups)
        {
            // The first backup is always checked, even with no budget left: the newest is the one a restore needs.
            if (checkedCount > 0 && time.GetElapsedTime(started) >= budget)
            {
                break;
            }

            var result = await BackupVerifier.VerifyAsync(backup.Path, job, time, null, logger, cancellationToken).ConfigureAwait(false);
            checkedCount++;
            if (!result.Ok)
            {
                bad.Add(result);
                LogBad(logger, backup.Path, result.Problems[0]);
            }
        }

        LogDone(logger, checkedCount, backups.Count, bad.Count);
        return new SweepResult(checkedCount, backups.Count, bad);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "verify: {Path} is bad: {Problem}")]
    private static partial void LogBad(ILogger logger, string path, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "verify: checked {Checked} of {Total} backups, newest first; {Bad} bad")]
    private static partial void LogDone(ILogger logger, int @checked, int total, int bad);
}

/// <summary>What a verification sweep found.</summary>
/// <param name="Checked">Backups checked.</param>
/// <param name="Total">Backups stored.</param>
/// <param name="Bad">The ones that failed, with their problems.</param>
public sealed record SweepResult(int Checked, int Total, IReadOnlyList<VerificationResult> Bad);

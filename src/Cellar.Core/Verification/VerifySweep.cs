using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Verification;

/// <summary>
/// The daemon's checks of stored backups, each the full restore drill (<see cref="BackupVerifier"/>), newest first.
/// The daily pass gives every backup still waiting for its full check that check, whatever it costs (the pass is the
/// latest moment it was promised), then goes on through the others until the time budget is spent, so bit rot is found
/// before a restore needs the file. Between passes, <see cref="FullChecksAsync"/> gives new backups theirs soon after
/// their run. Each bad backup is logged as an error with its problem.
/// </summary>
public static partial class VerifySweep
{
    /// <summary>The daily pass: every backup awaiting its full check, then the rest until <paramref name="budget"/> has passed; returns the checked and the bad ones.</summary>
    public static Task<SweepResult> RunAsync(CellarConfig config, TimeProvider time, TimeSpan budget, ILogger logger, CancellationToken cancellationToken) =>
        CheckAsync(config, time, budget, awaitingOnly: false, logger, cancellationToken);

    /// <summary>The full check of every backup that awaits it, newest first; returns the checked and the bad ones.</summary>
    public static Task<SweepResult> FullChecksAsync(CellarConfig config, TimeProvider time, ILogger logger, CancellationToken cancellationToken) =>
        CheckAsync(config, time, TimeSpan.Zero, awaitingOnly: true, logger, cancellationToken);

    private static async Task<SweepResult> CheckAsync(CellarConfig config, TimeProvider time, TimeSpan budget, bool awaitingOnly, ILogger logger, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var backups = config.Jobs.SelectMany(j => BackupCatalog.List(j, config.TimeZone).Select(e => (Job: j, Entry: e)))
            .OrderByDescending(b => b.Entry.AwaitingFullCheck).ThenByDescending(b => b.Entry.Created).ToList();
        var bad = new List<VerificationResult>();
        var checkedCount = 0;
        foreach (var (job, backup) in backups)
        {
            // The first backup is always checked, even with no budget left: the newest is the one a restore needs.
            if (!backup.AwaitingFullCheck && (awaitingOnly || checkedCount > 0 && time.GetElapsedTime(started) >= budget))
            {
                break;
            }

            // The daemon's two passes (after a run, and daily) may meet: one that got there first leaves nothing to do.
            if (backup.AwaitingFullCheck && CheckLedger.Read(job.Folder).GetValueOrDefault(backup.Name) is { Ok: true } done && done.Sha256 == backup.Sidecar!.Sha256)
            {
                continue;
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

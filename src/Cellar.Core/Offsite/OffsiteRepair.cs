using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Offsite;

/// <summary>
/// <c>cellar sync --repair</c> at one destination: checks that every copy the ledger records is still there at its
/// size with its sidecar (two HEADs each; what is not is forgotten, so the pass uploads it again), and seals whole
/// the sidecars of copies made without a key or by a Cellar that sealed only eight fields (one PUT each).
/// </summary>
internal sealed partial class OffsiteRepair(
    CellarConfig config, IObjectStore store, OffsiteCopier copier, OffsiteLedger ledger, DatabaseConfig database, OffsiteDestination destination, ILogger logger)
{
    /// <summary>Runs the checks (and the re-sealing when <paramref name="reseal"/>: a key is configured); throws naming the copies that cannot be repaired.</summary>
    public async Task RunAsync(bool reseal, SyncReport report, CancellationToken cancellationToken)
    {
        // One listing request first: a wrong bucket or prefix must fail here, not make every copy look missing.
        await using (var probe = store.ListAsync("", cancellationToken).GetAsyncEnumerator(cancellationToken))
        {
            await probe.MoveNextAsync().ConfigureAwait(false);
        }

        var lost = new List<string>();
        foreach (var entry in ledger.Entries.ToList())
        {
            var found = await store.StatAsync(entry.Key, cancellationToken).ConfigureAwait(false);
            var sidecar = await store.StatAsync(RemoteLayout.SidecarKeyFor(entry.Key), cancellationToken).ConfigureAwait(false);
            if (found?.SizeBytes == entry.SizeBytes && sidecar is not null)
            {
                continue;
            }

            var problem = found is null ? "missing" : sidecar is null ? "without its sidecar" : $"{found.SizeBytes} bytes instead of {entry.SizeBytes}";
            if (!File.Exists(entry.LocalPath))
            {
                // Nothing to upload it from: keep the entry (retention still expires it) and say so.
                lost.Add($"{entry.Key} is {problem} and its local backup is gone");
                continue;
            }

            // Forgotten, it is pending again and goes up in this pass.
            ledger.Forget(entry.Key);
            report.Repaired.Add(entry.Key);
            LogRepair(logger, destination.Name, entry.Key, problem);
        }

        if (reseal)
        {
            await ResealAsync(report, cancellationToken).ConfigureAwait(false);
        }

        if (lost.Count > 0)
        {
            throw new CellarException($"{lost.Count} copies cannot be repaired: {string.Join("; ", lost)}");
        }
    }

    /// <summary>
    /// Seals the sidecars of copies whose local backup is still the one copied (its sidecar supplies what is sealed,
    /// the ledger the object's size and hash: nothing read back from the bucket is vouched for). The others stay as
    /// they are: restorable with a warning while their old seal verifies, until retention expires them.
    /// </summary>
    private async Task ResealAsync(SyncReport report, CancellationToken cancellationToken)
    {
        foreach (var entry in ledger.Entries.Where(e => !e.Sealed).ToList())
        {
            var local = database.Jobs.FirstOrDefault(j => j.Name == entry.Job) is { } job
                ? BackupCatalog.List(job, config.TimeZone).FirstOrDefault(b => b.Path == entry.LocalPath && b.LooksGood && b.Sidecar!.Sha256 == entry.BackupSha256)
                : null;
            if (local is null)
            {
                report.NotResealed.Add(entry.Key);
                LogNotResealed(logger, destination.Name, entry.Key);
                continue;
            }

            ledger.Confirm(await copier.ResealAsync(entry, local.Sidecar!, cancellationToken).ConfigureAwait(false));
            report.Resealed.Add(entry.Key);
            LogResealed(logger, destination.Name, entry.Key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "offsite {Destination}: {Key} is {Problem}; uploading it again")]
    private static partial void LogRepair(ILogger logger, string destination, string key, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "offsite {Destination}: re-sealed the sidecar of {Key}")]
    private static partial void LogResealed(ILogger logger, string destination, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "offsite {Destination}: {Key} keeps its old seal or none: its local backup is gone (restorable with a warning while an old seal verifies)")]
    private static partial void LogNotResealed(ILogger logger, string destination, string key);
}

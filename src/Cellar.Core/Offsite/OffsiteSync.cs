using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Retention;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Offsite;

/// <summary>
/// Brings every destination up to date: uploads the verified local backups it does not hold yet (newest first),
/// optionally re-checks what it should hold (<c>repair</c>), then applies its retention. One pass per destination
/// runs at a time across processes (a lock beside the ledgers), so the daemon and <c>cellar sync</c> never upload
/// the same backup twice.
/// </summary>
internal sealed partial class OffsiteSync(CellarConfig config, TimeProvider time, ILogger logger, Func<OffsiteDestination, IObjectStore>? open = null)
{
    private readonly Lazy<KeyRing?> _keys = new(() => OffsiteKey.Load(config));

    /// <summary>
    /// Syncs every destination (or those of one database, or the one named); a failing destination does not stop
    /// the others.
    /// </summary>
    public async Task<IReadOnlyList<SyncReport>> RunAsync(DatabaseConfig? database, string? only, bool repair, CancellationToken cancellationToken)
    {
        var targets = config.Databases.Where(d => database is null || d == database).SelectMany(d => d.Offsite.Select(o => (Database: d, Destination: o)))
            .Where(t => only is null || t.Destination.Name == only).ToList();
        if (only is not null)
        {
            config.FindDestination(only);
        }

        var reports = new List<SyncReport>();
        foreach (var (db, destination) in targets)
        {
            reports.Add(await SyncAsync(db, destination, repair, cancellationToken).ConfigureAwait(false));
        }

        return reports;
    }

    /// <summary>
    /// Every confirmed offsite copy, by the local backup it copies (its path): to which destination and when it was
    /// confirmed there, which with the backup's own time is its offsite lag. A ledger that cannot be read adds nothing
    /// (<see cref="Lag"/> reports it).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Destination, DateTimeOffset ConfirmedAt)>> Confirmations()
    {
        var copies = new Dictionary<string, List<(string, DateTimeOffset)>>(StringComparer.Ordinal);
        foreach (var (database, destination) in config.Databases.SelectMany(d => d.Offsite.Select(o => (d, o))))
        {
            try
            {
                foreach (var entry in OffsiteLedger.Load(database, destination).Entries)
                {
                    (copies.TryGetValue(entry.LocalPath, out var list) ? list : copies[entry.LocalPath] = []).Add((destination.Name, entry.ConfirmedAt));
                }
            }
            catch (CellarException)
            {
                // Lag() names the unreadable ledger as its destination's problem.
            }
        }

        return copies.ToDictionary(c => c.Key, c => (IReadOnlyList<(string, DateTimeOffset)>)c.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// What each destination still lacks: how many backups and since when (the offsite lag); a ledger that cannot be
    /// read is reported as the destination's problem rather than failing every status.
    /// </summary>
    public IReadOnlyList<OffsiteLag> Lag() =>
        config.Databases.SelectMany(d => d.Offsite.Select(o =>
        {
            try
            {
                var pending = Pending(d, o, OffsiteLedger.Load(d, o), config.TimeZone, time.GetUtcNow()).ToList();
                return new OffsiteLag(d.Name, o.Name, pending.Count, pending.Count == 0 ? null : pending.Min(p => p.Backup.Created));
            }
            catch (CellarException e)
            {
                return new OffsiteLag(d.Name, o.Name, 0, null) { Problem = e.Message };
            }
        })).ToList();

    /// <summary>
    /// For each of <paramref name="job"/>'s backups that some destination should hold and does not yet, those
    /// destinations: local retention keeps such a backup, so none is deleted while its offsite copy is unconfirmed.
    /// One read of each ledger and of the job's folder, however many backups are pruned.
    /// </summary>
    public static IReadOnlyDictionary<string, List<string>> Unconfirmed(JobConfig job, TimeZoneInfo zone, DateTimeOffset now)
    {
        var waiting = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var destination in job.Database.Offsite.Where(o => o.Takes(job)))
        {
            foreach (var (_, backup) in Pending(job.Database, destination, OffsiteLedger.Load(job.Database, destination), zone, now, only: job))
            {
                (waiting.TryGetValue(backup.Path, out var names) ? names : waiting[backup.Path] = []).Add(destination.Name);
            }
        }

        return waiting;
    }

    private async Task<SyncReport> SyncAsync(DatabaseConfig database, OffsiteDestination destination, bool repair, CancellationToken cancellationToken)
    {
        var report = new SyncReport(database.Name, destination.Name);
        IObjectStore? store = null;
        try
        {
            var folder = OffsiteLedger.FolderOf(database);
            SecureFiles.EnsureFolder(folder);
            using var folderLock = await FolderLock.AcquireAsync(folder, time, cancellationToken, notices: logger).ConfigureAwait(false);
            var keys = _keys.Value;
            store = open is null ? OffsiteStores.Open(destination, logger) : open(destination);
            var ledger = OffsiteLedger.Load(database, destination);
            if (keys is null && ledger.Manifest is { KeyId: { Length: > 0 } sealedWith })
            {
                // Copies made now would carry no seal, and a machine restoring with the key refuses those.
                throw new ConfigException($"its copies of {database.Name} are sealed (key {sealedWith}), but no key is configured: set encryptionKeyFile or {OffsiteValidator.KeyVariable}");
            }

            try
            {
                if (keys is not null && ledger.Manifest is null)
                {
                    await AdoptManifestAsync(store, ledger, database, destination, keys, cancellationToken).ConfigureAwait(false);
                }

                var copier = new OffsiteCopier(store, destination, keys, time);
                if (repair)
                {
                    await new OffsiteRepair(config, store, copier, ledger, database, destination, logger).RunAsync(keys is not null, report, cancellationToken).ConfigureAwait(false);
                }

                foreach (var (job, backup) in Pending(database, destination, ledger, config.TimeZone, time.GetUtcNow()).OrderByDescending(p => p.Backup.Created).ToList())
                {
                    var entry = await copier.CopyAsync(job, backup, cancellationToken).ConfigureAwait(false);
                    ledger.Confirm(entry);
                    report.Uploaded.Add(entry);
                    LogUploaded(logger, destination.Name, entry.Key, entry.SizeBytes);
                }

                if (destination.Prune)
                {
                    await PruneAsync(store, ledger, database, destination, report, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The rest waits for the next pass (an outage would only fail every other upload the same way), and
                // the other destinations go on.
                Failed(report, destination, e);
            }

            // Also after a failed upload, so the copies confirmed before it are listed; one PUT per pass that changed
            // anything, none for a pass that did not (the ledger remembers whether the manifest is behind). A pass
            // that failed before changing anything (an outage) leaves it to the next one rather than retry twice.
            if (keys is not null && !ledger.ManifestCurrent && (report.Error is null || report.Changed))
            {
                await WriteManifestAsync(store, ledger, database, keys, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Failed(report, destination, e);
        }
        finally
        {
            store?.Dispose();
        }

        return report;
    }

    private void Failed(SyncReport report, OffsiteDestination destination, Exception e)
    {
        report.Error ??= e.Message;
        LogFailed(logger, destination.Name, e.Message);
    }

    /// <summary>
    /// A ledger that never wrote a manifest (new, lost, or from before manifests) first reads the destination's: one
    /// GET, once. Its counter goes on from there, and the copies it lists stay listed (and pruned) instead of being
    /// forgotten. One that does not open is overwritten by this pass, with a warning.
    /// </summary>
    private async Task AdoptManifestAsync(IObjectStore store, OffsiteLedger ledger, DatabaseConfig database, OffsiteDestination destination, KeyRing keys, CancellationToken cancellationToken)
    {
        try
        {
            if (await OffsiteManifest.ReadAsync(store, database.Name, keys, cancellationToken).ConfigureAwait(false) is { } manifest)
            {
                ledger.Adopt(manifest, keys.Current.IdHex);
            }
        }
        catch (CellarException e) when (e is not ConfigException)
        {
            LogManifestUnreadable(logger, destination.Name, e.Message);
        }
    }

    private async Task WriteManifestAsync(IObjectStore store, OffsiteLedger ledger, DatabaseConfig database, KeyRing keys, CancellationToken cancellationToken)
    {
        var manifest = new OffsiteManifest(database.Name, (ledger.Manifest?.Counter ?? 0) + 1, time.GetUtcNow(), [.. ledger.Entries.OrderBy(e => e.Key, StringComparer.Ordinal)]);
        await manifest.WriteAsync(store, keys.Current, cancellationToken).ConfigureAwait(false);
        ledger.ManifestWritten(manifest.Counter, keys.Current.IdHex);
    }

    private async Task PruneAsync(IObjectStore store, OffsiteLedger ledger, DatabaseConfig database, OffsiteDestination destination, SyncReport report, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var job in database.Jobs.Where(destination.Takes))
        {
            var copies = ledger.Entries.Where(e => e.Job == job.Name).ToList();
            var (_, delete) = RetentionPlan.Split(copies, e => e.Created, _ => 0, now, destination.KeepDaysFor(job), job.KeepAtLeast);
            foreach (var entry in delete)
            {
                await store.DeleteAsync(entry.Key, cancellationToken).ConfigureAwait(false);
                await store.DeleteAsync(RemoteLayout.SidecarKeyFor(entry.Key), cancellationToken).ConfigureAwait(false);
                ledger.Forget(entry.Key);
                report.Deleted.Add(entry.Key);
                LogDeleted(logger, destination.Name, entry.Key, entry.Created);
            }
        }
    }

    /// <summary>
    /// Verified local backups the destination should hold and does not: those within its keepDays for their job,
    /// and in any case the newest keepAtLeast (so a destination always gets the latest backup of every job).
    /// </summary>
    private static IEnumerable<(JobConfig Job, BackupEntry Backup)> Pending(
        DatabaseConfig database, OffsiteDestination destination, OffsiteLedger ledger, TimeZoneInfo zone, DateTimeOffset now, JobConfig? only = null)
    {
        var confirmed = ledger.Entries.Select(e => (e.LocalPath, e.BackupSha256)).ToHashSet();
        foreach (var job in database.Jobs.Where(j => destination.Takes(j) && (only is null || j == only)))
        {
            var good = BackupCatalog.List(job, zone).Where(b => b.LooksGood).ToList();
            var (wanted, _) = RetentionPlan.Split(good, b => b.Created, _ => 0, now, destination.KeepDaysFor(job), job.KeepAtLeast);
            foreach (var backup in wanted.Where(b => !confirmed.Contains((b.Path, b.Sidecar!.Sha256))))
            {
                yield return (job, backup);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "offsite {Destination}: uploaded and confirmed {Key} ({Bytes} bytes)")]
    private static partial void LogUploaded(ILogger logger, string destination, string key, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "offsite {Destination}: {Error}; what is left stays queued for the next pass")]
    private static partial void LogFailed(ILogger logger, string destination, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "offsite {Destination}: {Problem}; this pass writes a new one")]
    private static partial void LogManifestUnreadable(ILogger logger, string destination, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "offsite {Destination}: deleted {Key} (created {Created:u}) by retention")]
    private static partial void LogDeleted(ILogger logger, string destination, string key, DateTimeOffset created);
}

/// <summary>What one pass did at one destination.</summary>
internal sealed record SyncReport(string Database, string Destination)
{
    public List<OffsiteEntry> Uploaded { get; } = [];

    public List<string> Deleted { get; } = [];

    public List<string> Repaired { get; } = [];

    /// <summary>Copies whose sidecar <c>--repair</c> sealed whole.</summary>
    public List<string> Resealed { get; } = [];

    /// <summary>Copies left with an old seal or none, because their local backup is gone.</summary>
    public List<string> NotResealed { get; } = [];

    /// <summary>True when the pass changed what the destination holds or how it is sealed.</summary>
    public bool Changed => Uploaded.Count + Deleted.Count + Repaired.Count + Resealed.Count > 0;

    /// <summary>Why the pass stopped early, if it did.</summary>
    public string? Error { get; set; }
}

/// <summary>How far a destination is behind: backups not yet confirmed there, and the oldest one's creation time.</summary>
internal sealed record OffsiteLag(string Database, string Destination, int Pending, DateTimeOffset? OldestPending)
{
    /// <summary>Why the lag could not be measured, if it could not.</summary>
    public string? Problem { get; init; }
}

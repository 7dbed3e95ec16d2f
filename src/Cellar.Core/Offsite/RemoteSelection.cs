using Cellar.Core.Configuration;

namespace Cellar.Core.Offsite;

/// <summary>
/// Chooses the copy a restore from a destination brings back, and says what is wrong around it. Someone who can
/// write to the bucket cannot forge a copy, but can delete the newest ones, put pruned ones back, or put back an
/// older manifest, so that <c>--latest</c> would restore an older state without a word. So: every candidate that is
/// skipped is named with the reason; the sealed manifest must list no newer copy that is missing or failed its
/// check, and must not be older than the last one this machine wrote; and the newest copy must not be older than
/// the job's schedule implies. For <c>--latest</c> and <c>--at</c> the first two refuse the restore (naming the
/// copy is the way to restore an older one on purpose); for a named copy they are warnings.
/// </summary>
internal sealed class RemoteSelection(CellarConfig config, OffsiteDestination destination, RemoteBackups backups, TimeProvider time, Action<string> warn)
{
    /// <summary>
    /// The newest copy of <paramref name="job"/> made at or before <paramref name="at"/> (or the newest of all), by
    /// the creation time its checked sidecar vouches for (upload order says nothing: a sync uploads newest first).
    /// One LIST, one GET for the manifest, one GET per candidate sidecar.
    /// </summary>
    public async Task<RemoteCopy> SelectAsync(JobConfig job, DateTimeOffset? at, CancellationToken cancellationToken)
    {
        var prefix = RemoteLayout.PrefixOf(job);
        var listed = await backups.ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        var manifest = await ManifestAsync(job.Database.Name, refuse: true, cancellationToken).ConfigureAwait(false);
        var good = new List<RemoteCopy>();
        var skipped = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var backup in listed)
        {
            try
            {
                good.Add(await backups.OpenAsync(backup.Object.Key, cancellationToken).ConfigureAwait(false));
            }
            catch (CellarException e) when (e is not ConfigException)
            {
                skipped[backup.Object.Key] = e.Message;
                warn($"skipped {e.Message}");
            }
        }

        var chosen = good.Where(c => at is null || c.Sidecar.Created <= at).MaxBy(c => c.Sidecar.Created)
            ?? throw new CellarException($"{backups.Location}{prefix}: no backup {(at is null ? "" : $"made at or before {at:u} ")}that can be restored{(skipped.Count > 0 ? $" ({skipped.Count} skipped, see above)" : "")}");
        if (manifest is not null)
        {
            CheckAgainst(manifest, prefix, at, chosen, skipped);
        }

        if (at is null)
        {
            CheckSchedule(job, chosen);
        }

        return chosen;
    }

    /// <summary>Warns when a copy named by its key is not what the destination's manifest lists.</summary>
    public async Task CheckNamedAsync(RemoteCopy copy, CancellationToken cancellationToken)
    {
        var manifest = await ManifestAsync(RemoteLayout.DatabaseOf(copy.Key), refuse: false, cancellationToken).ConfigureAwait(false);
        if (manifest is not null && manifest.Copies.All(c => c.Key != copy.Key))
        {
            warn(NotListed(copy, manifest));
        }
    }

    /// <summary>
    /// The manifest of <paramref name="database"/>'s copies, checked against the counter this machine last wrote;
    /// null without a key or when there is none (said). A manifest that does not open, or was rolled back, refuses
    /// the restore when <paramref name="refuse"/>, else is a warning.
    /// </summary>
    public async Task<OffsiteManifest?> ManifestAsync(string database, bool refuse, CancellationToken cancellationToken)
    {
        if (backups.Keys is null)
        {
            return null;
        }

        string? problem;
        OffsiteManifest? manifest = null;
        try
        {
            manifest = await backups.ManifestAsync(database, cancellationToken).ConfigureAwait(false);
            var remembered = RememberedCounter(database);
            problem = manifest is null
                ? remembered > 0 ? $"{backups.Location}{OffsiteManifest.KeyFor(database)} is gone, but this machine wrote number {remembered}: someone who can write to {destination.Name} deleted it" : null
                : manifest.Counter < remembered ? $"the manifest {backups.Location}{OffsiteManifest.KeyFor(database)} is number {manifest.Counter}, but this machine wrote number {remembered}: it was rolled back by someone who can write to {destination.Name} (or the bucket was restored from an older snapshot)"
                : null;
        }
        catch (CellarException e) when (e is not ConfigException)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            if (refuse)
            {
                throw new CellarException($"{problem}; to restore a copy anyway, name it: cellar restore --from {destination.Name} KEY (`cellar list --from {destination.Name}` shows the keys)");
            }

            warn(problem);
            return null;
        }

        if (manifest is null)
        {
            warn($"{backups.Location} has no manifest of {database}'s copies, so copies deleted or put back there cannot be detected; `cellar sync` on the machine that makes the backups writes one");
        }

        return manifest;
    }

    /// <summary>Refuses when the manifest lists a newer copy (within <paramref name="at"/>) that is missing or failed its check.</summary>
    private void CheckAgainst(OffsiteManifest manifest, string prefix, DateTimeOffset? at, RemoteCopy chosen, Dictionary<string, string> skipped)
    {
        var listed = manifest.Copies.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var newer = listed.Where(c => c.Created > chosen.Sidecar.Created && (at is null || c.Created <= at))
            .OrderByDescending(c => c.Created).ToList();
        if (newer.Count > 0)
        {
            var which = string.Join(", ", newer.Select(c => $"{c.Key} ({c.Created:u}, {(skipped.ContainsKey(c.Key) ? "fails its check" : "missing")})"));
            throw new CellarException(
                $"the manifest of {destination.Name} (number {manifest.Counter}, written {manifest.Written:u}) lists {newer.Count} newer cop{(newer.Count == 1 ? "y" : "ies")} than {chosen.Key}: {which}; "
                + $"someone who can write to {destination.Name} may have deleted or damaged {(newer.Count == 1 ? "it" : "them")}. To restore the older copy anyway, name it: cellar restore --from {destination.Name} {chosen.Key}");
        }

        if (listed.All(c => c.Key != chosen.Key))
        {
            warn(NotListed(chosen, manifest));
        }
    }

    /// <summary>
    /// Warns when the newest copy is older than the job's schedule implies: two or more runs have been due since (one
    /// may still be on its way). Not for log rotation, whose runs make no archive while the log is quiet.
    /// </summary>
    private void CheckSchedule(JobConfig job, RemoteCopy newest)
    {
        var created = newest.Sidecar.Created;
        if (job.Type != JobType.Rotate && job.Schedule?.GetOccurrences(created, time.GetUtcNow(), config.TimeZone, fromInclusive: false, toInclusive: true).Skip(1).Any() == true)
        {
            warn($"the newest copy of {job.QualifiedName(config)} at {destination.Name} was made {created:u}, but the job runs on '{job.ScheduleText}' and was due at least twice since: newer copies may have been deleted, or copies stopped reaching {destination.Name}");
        }
    }

    private string NotListed(RemoteCopy copy, OffsiteManifest manifest) =>
        $"{backups.Location}{copy.Key} is not listed in the manifest of {destination.Name} (number {manifest.Counter}, written {manifest.Written:u}): it was uploaded after that, or it was pruned and put back";

    /// <summary>The counter of the last manifest this machine wrote for the database at this destination (0 for none).</summary>
    private long RememberedCounter(string database) =>
        config.Databases.FirstOrDefault(d => d.Name == database) is { } db && db.Offsite.FirstOrDefault(o => o.Name == destination.Name) is { } here
            ? OffsiteLedger.Load(db, here).Manifest?.Counter ?? 0
            : 0;
}

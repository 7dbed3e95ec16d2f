using System.Text;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Replication;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Offsite;

/// <summary>
/// Brings one destination's copy of a stream job's history up to date from the job's folder (docs/stream-format.md,
/// "Offsite"): per generation its manifest, its base images (through the same copier as every backup: sidecar sealed,
/// confirmed) and its transactions since the last confirmed one, in one segment object per pass (so one PUT a second
/// under a steady writer, none while the app is idle). Every object is confirmed by its PUT before the ledger moves on.
/// With a key configured, manifests are sealed and segments encrypted whatever the destination's <c>encrypt</c> says:
/// that is what proves them Cellar's to a restore on another machine, a bucket writer having no key.
/// </summary>
internal sealed partial class StreamUpload(StreamJob job, OffsiteDestination destination, IObjectStore store, KeyRing? keys, TimeProvider time, ILogger logger)
{
    /// <summary>The format name a sealed generation manifest carries.</summary>
    public const string ManifestFormat = "cellar-stream-generation-v1";

    /// <summary>The first line of every segment object, before the segment's bytes: format, generation, first and last transaction.</summary>
    public const string SegmentMagic = "cellar-stream-segment-v1";

    /// <summary>A segment object holds at most about this many bytes of records (a catch-up after an outage makes several).</summary>
    private const long ObjectBytes = 16 << 20;

    /// <summary>A compacted segment object holds at most about this many bytes of records.</summary>
    private const long CompactBytes = 64 << 20;

    /// <summary>How often the destination's objects are compacted and pruned (one listing each time).</summary>
    private static readonly TimeSpan MaintenanceInterval = TimeSpan.FromMinutes(10);

    private DateTimeOffset? _maintained;

    private string? _copied;

    private readonly JournalCursor _journal = new();

    private readonly StreamLag _lag = new(StreamLag.PathOf(job, destination));

    /// <summary>When the oldest transaction the pass under way found waiting committed (null: none yet), for its lag.</summary>
    private DateTimeOffset? _waited;

    private bool MaintenanceDue => destination.Prune && (_maintained is not { } last || time.GetUtcNow() - last >= MaintenanceInterval);

    /// <summary>The ledger as the last pass that read it left it (null: no pass has read it yet).</summary>
    public StreamLedgerFile? Ledger { get; private set; }

    /// <summary>When the oldest transaction not yet confirmed here committed (null: none waiting, as of the last pass).</summary>
    public DateTimeOffset? OldestPending { get; private set; }

    /// <summary>One pass: everything the job's folder holds that the destination does not. Returns the objects put.</summary>
    public async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        // An idle app leaves the folder as it was: then there is nothing to read, let alone send (until maintenance is due).
        var seen = Fingerprint();
        _waited = OldestPending;
        if (seen == _copied && !MaintenanceDue)
        {
            _lag.Record(time.GetUtcNow(), _waited);
            return 0;
        }

        var ledger = StreamLedger.Load(job, destination);
        try
        {
            var puts = await PassAsync(ledger, cancellationToken).ConfigureAwait(false);
            _copied = seen;
            return puts;
        }
        catch
        {
            OldestPending ??= StreamOffsiteReach.PendingSince(job, ledger.File);
            _waited ??= OldestPending;
            throw;
        }
        finally
        {
            Ledger = ledger.File;
            _lag.Record(time.GetUtcNow(), _waited);
        }
    }

    private async Task<int> PassAsync(StreamLedger ledger, CancellationToken cancellationToken)
    {
        var puts = 0;
        foreach (var generation in Generation.List(job.Folder).Where(g => g.Manifest.Database == job.Database.Path))
        {
            if (ledger.File.Generation is { } current && string.CompareOrdinal(generation.Id, current) < 0)
            {
                continue; // done before the current one began
            }

            if (generation.Id != ledger.File.Generation)
            {
                ledger.Begin(generation.Id);
            }

            if (!ledger.File.Files.Contains(Generation.ManifestName))
            {
                await PutManifestAsync(generation, cancellationToken).ConfigureAwait(false);
                ledger.Put(Generation.ManifestName);
                puts++;
            }

            // Transactions restore to nothing without a base before them; after the first, they go before new bases,
            // so a day's base (the size of the database) never holds up the last second's commits.
            if (!ledger.File.Files.Any(f => f.StartsWith("base-", StringComparison.Ordinal)))
            {
                puts += await PutBasesAsync(generation, ledger, cancellationToken).ConfigureAwait(false);
            }

            puts += await PutTransactionsAsync(generation, ledger, cancellationToken).ConfigureAwait(false);
            puts += await PutBasesAsync(generation, ledger, cancellationToken).ConfigureAwait(false);
        }

        // Where Cellar may delete (not retention: none), it tidies up every few minutes: one listing, the second-by-second
        // objects merged, what the window no longer needs removed. Timed from the attempt, so a failing step costs
        // one listing per interval, not one per pass.
        if (MaintenanceDue)
        {
            _maintained = time.GetUtcNow();
            var generations = await RemoteStream.GenerationsAsync(store, job, cancellationToken).ConfigureAwait(false);
            await CompactAsync(ledger, generations, cancellationToken).ConfigureAwait(false);
            await PruneAsync(generations, cancellationToken).ConfigureAwait(false);
        }

        return puts;
    }

    /// <summary>
    /// Merges the segment objects of the current generation confirmed since the last compaction into few large ones
    /// (at most <see cref="CompactBytes"/> of records each), built again from the job's folder, then deletes the small
    /// ones in one request: a restore reads a few objects per hour of history instead of thousands, and the bucket
    /// holds as few. A compaction cut short leaves the small objects beside the large one, which a restore reads as one.
    /// </summary>
    private async Task CompactAsync(StreamLedger ledger, SortedDictionary<string, List<string>> generations, CancellationToken cancellationToken)
    {
        if (ledger.File.Generation is not { } id || Generation.List(job.Folder).FirstOrDefault(g => g.Id == id) is not { } generation
            || !generations.TryGetValue(id, out var names))
        {
            return;
        }

        var done = ledger.File.CompactedUpTo;
        var small = names.Select(n => (Name: n, Range: Generation.SegmentRange(RemoteLayout.PlainKey(n))))
            .Where(o => o.Range is { } r && r.First > done && r.Last <= ledger.File.Txid)
            .Select(o => (o.Name, o.Range!.Value.First, o.Range.Value.Last)).ToList();
        if (small.Count < 2)
        {
            return;
        }

        var upTo = small.Max(o => o.Last);
        var written = new List<(long First, long Last, string Name)>();
        using var records = new MemoryStream();
        StreamRecord? first = null;
        foreach (var record in StreamHistory.After(generation, done))
        {
            cancellationToken.ThrowIfCancellationRequested();
            first ??= record;
            record.WriteTo(records, generation.Manifest.PageSize);
            if (records.Length >= CompactBytes || record.Txid == upTo)
            {
                written.Add((first.Txid, record.Txid, await PutObjectAsync(generation, first.Txid, record.Txid, records, cancellationToken).ConfigureAwait(false)));
                (first, records.Position) = (null, 0);
                records.SetLength(0);
            }

            if (record.Txid == upTo)
            {
                break;
            }
        }

        if (written is not [.., var end] || end.Last != upTo)
        {
            throw new CellarException($"the job's folder no longer holds transactions {done + 1} to {upTo} of generation {id}; the objects at {destination.Name} are left as they are");
        }

        var merged = small.Where(o => written.Any(w => w.First <= o.First && o.Last <= w.Last && w.Name != o.Name)).Select(o => RemoteLayout.StreamPrefixOf(job, id) + o.Name).ToList();
        await store.DeleteManyAsync(merged, cancellationToken).ConfigureAwait(false);
        ledger.Compacted(upTo);
        LogCompacted(logger, job.Name, destination.Name, merged.Count, written.Count);
    }

    /// <summary>
    /// Applies the stream's retention (<see cref="StreamRetention.Plan"/>, with the destination's keepDays for the job)
    /// to what the destination holds, judged from the names alone, and deletes what goes in one request.
    /// </summary>
    private async Task PruneAsync(SortedDictionary<string, List<string>> generations, CancellationToken cancellationToken)
    {
        var ids = generations.Keys.ToList();
        var bases = ids.Select(id => (IReadOnlyList<(long, DateTimeOffset, bool)>)[.. generations[id]
            .Select(RemoteLayout.PlainKey).Where(n => Generation.BaseTxid(n) is not null && Generation.BaseTime(n) is not null)
            .Select(n => (Generation.BaseTxid(n)!.Value, Generation.BaseTime(n)!.Value, Generation.IsFullBase(n))).Distinct().OrderBy(b => b.Item1)]).ToList();
        var cuts = StreamRetention.Plan(bases, time.GetUtcNow() - TimeSpan.FromDays(destination.KeepDaysFor(job)));
        var gone = ids.SelectMany((id, i) => generations[id].Where(n => cuts[i] is { } cut && Goes(RemoteLayout.PlainKey(n), cut)).Select(n => id + "/" + n)).ToList();
        await store.DeleteManyAsync([.. gone.Select(n => RemoteLayout.PrefixOf(job) + n)], cancellationToken).ConfigureAwait(false);
        foreach (var name in gone)
        {
            LogPruned(logger, job.Name, destination.Name, name);
        }
    }

    /// <summary>Whether the object <paramref name="name"/> (its plain name; a base's sidecar goes with it) is before <paramref name="cut"/>.</summary>
    private static bool Goes(string name, RetentionCut cut)
    {
        var image = name.EndsWith(Sidecar.Suffix, StringComparison.Ordinal) ? name[..^Sidecar.Suffix.Length] : name;
        return cut.Whole
            || Generation.BaseTxid(image) is { } txid && txid < cut.KeepFrom
            || Generation.SegmentRange(name) is { } range && range.Last <= cut.Anchor;
    }


    /// <summary>
    /// What changes whenever the job's folder gets something to copy: each generation folder's modification time (a
    /// segment sealed, a base written, anything removed) and its journal's length (transactions appended).
    /// </summary>
    private string Fingerprint()
    {
        if (!Directory.Exists(job.Folder))
        {
            return "";
        }

        var seen = new StringBuilder();
        foreach (var folder in Directory.EnumerateDirectories(job.Folder).Order(StringComparer.Ordinal))
        {
            var journal = new FileInfo(Path.Combine(folder, Generation.JournalName));
            seen.Append(folder).Append(' ').Append(Directory.GetLastWriteTimeUtc(folder).Ticks).Append(' ').Append(journal.Exists ? journal.Length : -1).Append('\n');
        }

        return seen.ToString();
    }

    /// <summary>The remote bytes of a segment: its first line names what it is, the rest is the segment as on disk.</summary>
    public static string SegmentHeader(string generation, long first, long last) => $"{SegmentMagic} {generation} {first} {last}\n";

    private async Task PutManifestAsync(Generation generation, CancellationToken cancellationToken)
    {
        var plain = await File.ReadAllBytesAsync(Path.Combine(generation.Folder, Generation.ManifestName), cancellationToken).ConfigureAwait(false);
        var key = RemoteLayout.StreamPrefixOf(job, generation.Id) + Generation.ManifestName + (keys is null ? "" : RemoteLayout.EncryptedSuffix);
        var bytes = keys is null ? plain : SealedEnvelope.Seal(keys.Current, ManifestFormat, key, plain);
        await store.PutAsync(key, new MemoryStream(bytes), bytes.Length, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> PutBasesAsync(Generation generation, StreamLedger ledger, CancellationToken cancellationToken)
    {
        var copier = new OffsiteCopier(store, destination, keys, time);
        var puts = 0;
        foreach (var image in StreamHistory.Bases(generation))
        {
            var name = Path.GetFileName(image.Path);
            if (ledger.File.Files.Contains(name))
            {
                continue;
            }

            var entry = new BackupEntry(image.Path, image.Sidecar.Created, image.Sidecar.SizeBytes, image.Sidecar, null);
            var copy = await copier.CopyAsync(job, entry, $"{generation.Id}/{name}", cancellationToken).ConfigureAwait(false);
            ledger.Put(name);
            LogUploaded(logger, job.Name, destination.Name, copy.Key);
            puts += 2;
        }

        return puts;
    }

    private async Task<int> PutTransactionsAsync(Generation generation, StreamLedger ledger, CancellationToken cancellationToken)
    {
        var pageSize = generation.Manifest.PageSize;
        var puts = 0;
        using var records = new MemoryStream();
        StreamRecord? first = null;
        StreamRecord? last = null;
        // A range whose PUT did not complete goes again as it was (StreamLedger.Sending).
        var cut = ledger.File.SendingLast;
        foreach (var record in StreamHistory.After(generation, ledger.File.Txid, _journal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            OldestPending ??= record.Committed;
            _waited ??= record.Committed;
            first ??= record;
            last = record;
            record.WriteTo(records, pageSize);
            if (cut is null ? records.Length >= ObjectBytes : record.Txid == cut)
            {
                cut = null;
                await PutSegmentAsync(generation, first.Txid, last, records, ledger, cancellationToken).ConfigureAwait(false);
                (first, puts) = (null, puts + 1);
                records.SetLength(0);
            }
        }

        if (first is not null)
        {
            await PutSegmentAsync(generation, first.Txid, last!, records, ledger, cancellationToken).ConfigureAwait(false);
            puts++;
        }

        OldestPending = null;
        return puts;
    }

    private async Task PutSegmentAsync(Generation generation, long first, StreamRecord last, MemoryStream records, StreamLedger ledger, CancellationToken cancellationToken)
    {
        ledger.Sending(last.Txid);
        await PutObjectAsync(generation, first, last.Txid, records, cancellationToken).ConfigureAwait(false);
        ledger.Confirm(last.Txid, last.Committed);
        OldestPending = null;
    }

    /// <summary>Puts the records (<paramref name="records"/>, to its length) as the segment object of <paramref name="first"/> to <paramref name="last"/>; returns its name.</summary>
    private async Task<string> PutObjectAsync(Generation generation, long first, long last, MemoryStream records, CancellationToken cancellationToken)
    {
        using var plain = new MemoryStream();
        plain.Write(Encoding.ASCII.GetBytes(SegmentHeader(generation.Id, first, last)));
        records.Position = 0;
        StreamSegment.Compress(records, plain, cancellationToken);
        plain.Position = 0;
        var name = Path.GetFileName(generation.SegmentPath(first, last)) + (keys is null ? "" : RemoteLayout.EncryptedSuffix);
        await using (Stream body = keys is null ? plain : new EncryptingStream(plain, keys.Current, leaveOpen: true))
        {
            var length = keys is null ? plain.Length : EncryptionFormat.EncryptedLength(plain.Length);
            await store.PutAsync(RemoteLayout.StreamPrefixOf(job, generation.Id) + name, body, length, cancellationToken).ConfigureAwait(false);
        }

        return name;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "stream {Job}: offsite {Destination}: {Merged} segment objects merged into {Written}")]
    private static partial void LogCompacted(ILogger logger, string job, string destination, int merged, int written);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Job}: offsite {Destination}: retention removed {Key}")]
    private static partial void LogPruned(ILogger logger, string job, string destination, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Job}: base {Key} copied to {Destination}")]
    private static partial void LogUploaded(ILogger logger, string job, string destination, string key);
}

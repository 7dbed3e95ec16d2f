using Cellar.Core.Wal;
namespace Cellar.Core.Replication;

/// <summary>The follower's start: go on with the newest generation where it provably can, else begin one from a fresh base.</summary>
internal sealed partial class WalFollower
{
    private async Task OpenAsync(CancellationToken cancellationToken, bool resume = true)
    {
        _live = LiveDatabase.Open(job.Database.Path);
        StreamRetention.SweepLeftovers(job);
        try
        {
            if (!resume || !TryResume())
            {
                await StartGenerationAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            Close();
            throw;
        }
    }

    /// <summary>
    /// Goes on with the newest generation of this database from its last durable transaction. What happened to the WAL
    /// while Cellar was down is judged as any restart is (<see cref="Ship"/>): the same WAL grown, one restart whose
    /// old frames are all still there, or a new generation.
    /// </summary>
    private bool TryResume()
    {
        if (Generation.List(job.Folder).LastOrDefault(g => g.Manifest.Database == job.Database.Path) is not { } generation
            || generation.Manifest.File != _live!.Id
            || StreamHistory.Bases(generation).Count == 0
            || generation.Manifest.PageSize != _live.Shape().PageSize)
        {
            return false;
        }

        var journal = StreamJournal.Open(generation.JournalPath, generation.Manifest.PageSize);
        var segments = generation.Segments();
        var sealedUpTo = segments.Count > 0 ? segments[^1].Last : 0;
        if (journal.Records.Count > 0 && journal.Records[0].Txid <= sealedUpTo)
        {
            // Killed between sealing the journal and emptying it: the segment holds them all.
            journal.Clear();
        }

        var last = journal.Records.Count > 0 ? journal.Records[^1]
            : segments.Count > 0 ? StreamSegment.Records(segments[^1].Path, generation.Manifest.PageSize).Last() with { Pages = [] }
            : null;
        var position = last?.End ?? generation.Manifest.Start;
        if (position.Salt1 == 0 && position.Salt2 == 0)
        {
            // The base was taken with no WAL at all, and nothing since: while Cellar was down the app may have written a
            // WAL, checkpointed it and started over, which nothing left shows.
            journal.Dispose();
            return false;
        }

        (_generation, _journal, _position, _txid, _walEmpty, _endKnown, _walLength) = (generation, journal, position, last?.Txid ?? 0, false, false, 0);

        // While Cellar was down checkpoints could copy anything into the file: pages are stored whole until a WAL
        // begins under its watch.
        _history = new PageHistory(_live.File, _live.Wal);
        _history.Begin(null, new Dictionary<uint, long>(), trusted: false, last?.DatabasePages ?? (uint)StreamHistory.Bases(generation)[^1].Sidecar.SourcePageCount);
        _unwatched = true;
        _journalSince = time.GetUtcNow();
        return true;
    }

    /// <summary>
    /// Begins a generation: with writers held off for a moment, the read transaction is moved to the WAL's end and the
    /// WAL read to it, so the state the read transaction sees is exactly "everything up to this frame"; then its first
    /// base image (<see cref="WriteBaseAsync"/>).
    /// </summary>
    private async Task StartGenerationAsync(CancellationToken cancellationToken)
    {
        var live = _live!;
        var (position, pinned) = live.WithWritersHeld(() =>
        {
            live.RefreshRead();
            return BaseImage.Pin(live, null, time.GetUtcNow());
        }, cancellationToken);

        var generation = Generation.Create(job.Folder, pinned.Taken, job.Database.Path, live.Id, pinned.PageSize, position);
        await WriteBaseAsync(generation, 0, pinned, cancellationToken).ConfigureAwait(false);
        (_generation, _position, _txid, _walEmpty, _endKnown, _walLength) = (generation, position, 0, pinned.Header is null, true, 0);
        _history = new PageHistory(live.File, live.Wal);
        _history.Begin(pinned.Header, pinned.Overlay, trusted: true, (uint)pinned.Pages);
        _unwatched = false;
        _journal = StreamJournal.Open(generation.JournalPath, pinned.PageSize);
        _journalSince = time.GetUtcNow();
        LogGenerationStarted(logger, job.Name, generation.Id);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "stream {Job}: generation {Generation} started from a new base")]
    private static partial void LogGenerationStarted(Microsoft.Extensions.Logging.ILogger logger, string job, string generation);
}

using Cellar.Core.Configuration;
using Cellar.Core.Wal;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// Follows one database's WAL and ships every committed transaction into the stream job's folder: read each frame up
/// to the last commit frame (salts and checksum chain checked), append the transactions to the generation's journal
/// and fsync, then move the read transaction up to the new end. Sealing, checkpoints and bases are in the other parts
/// of this class; how a restart of the WAL is told apart from a gap is in <see cref="Ship"/>.
/// </summary>
internal sealed partial class WalFollower(StreamJob job, TimeProvider time, TimeZoneInfo zone, ILogger logger) : IDisposable
{
    private LiveDatabase? _live;
    private Generation? _generation;
    private StreamJournal? _journal;
    private WalPosition _position;
    private bool _walEmpty;
    private bool _endKnown;
    private long _walLength;
    private long _txid;
    private DateTimeOffset _journalSince;
    private PageHistory? _history;

    // True after a moment with no read transaction held (Cellar down, or its own checkpoint) in which a new WAL could
    // have begun and been copied into the database file unseen, until a reader is held again on the position's WAL.
    private bool _unwatched;

    /// <summary>The generation being written, once there is one.</summary>
    public Generation? Generation => _generation;

    /// <summary>The last transaction shipped (0: the generation's base).</summary>
    public long Txid => _txid;

    /// <summary>When the last step found everything committed shipped (null: not yet).</summary>
    public DateTimeOffset? CaughtUp { get; private set; }

    /// <summary>When a transaction was last shipped.</summary>
    public DateTimeOffset? LastShipped { get; private set; }

    /// <summary>The <c>-wal</c> file's size at the last step.</summary>
    public long WalBytes { get; private set; }

    /// <summary>
    /// One step: open (resuming the newest generation, or starting one), ship what has committed, seal and checkpoint
    /// when due. Returns how many transactions were shipped.
    /// </summary>
    public async Task<int> StepAsync(CancellationToken cancellationToken)
    {
        if (_live is null)
        {
            await OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        CollectBackground(wait: false);
        int shipped;
        try
        {
            if (!_live!.StillTheSame())
            {
                throw new StreamLost("the database file was replaced, left WAL mode or had its WAL deleted");
            }

            // Nothing committed after the position in the same WAL, and nothing due: the read transaction stays where
            // it is, and an idle app costs a stat and a frame header read a step.
            if (NothingNew() && !SealDue && !DueForBase() && !DueForCompaction())
            {
                CaughtUp = time.GetUtcNow();
                return 0;
            }

            // The next reader first: it holds whatever commits from now on; then everything to the WAL's end is shipped,
            // and only then the previous reader lets go of what it held. From here a restart or truncation of the WAL
            // can only drop frames already shipped, which is what _endKnown says.
            _live.BeginNext();
            shipped = Ship();
            _live.EndPrevious();
            _endKnown = true;

            // A base being copied holds a read transaction at its moment, which keeps the WAL from starting over: the WAL
            // grows for the copy's length, and is checkpointed once it is done.
            if (DueForCheckpoint() && !BaseHeld)
            {
                shipped += Checkpoint(cancellationToken);
            }

            if (DueForBase())
            {
                StartBase(cancellationToken);
            }
            else if (DueForCompaction())
            {
                StartCompaction(cancellationToken);
            }

            var now = time.GetUtcNow();
            (CaughtUp, WalBytes) = (now, RandomAccess.GetLength(_live.Wal));
            LastShipped = shipped > 0 ? now : LastShipped;
        }
        catch (StreamLost lost)
        {
            LogNewGeneration(logger, job.Name, lost.Message);
            Close();
            await OpenAsync(cancellationToken, resume: false).ConfigureAwait(false);
            return 0;
        }

        if (SealDue)
        {
            Seal(cancellationToken);
        }

        return shipped;
    }

    /// <summary>
    /// True when the WAL is the one the position is in and holds no commit after it: no restart, no truncation, no
    /// frame since (a restart rewrites the header with new salts; a new frame continues the checksum chain).
    /// </summary>
    private bool NothingNew() =>
        _endKnown && !_walEmpty && WalReader.Header(_live!.Wal) is { } header && _position.IsIn(header)
        && WalIndexHeader.CommittedEnd(_live.Shm, header) is { } end // unreadable: the step's new reader repairs it
        && WalReader.Scan(_live.Wal, header, _position, lastFrame: end).Committed.Count == 0;

    /// <summary>True when the journal holds transactions and its segment's time or size is up.</summary>
    private bool SealDue => _journal!.Records.Count > 0 && (time.GetUtcNow() - _journalSince >= job.SegmentInterval || _journal.Length >= job.SegmentBytes);

    /// <summary>Seals what the journal holds into a segment (at a stop, and when a segment's time or size is up).</summary>
    public void Seal(CancellationToken cancellationToken)
    {
        if (_generation is not null && _journal is not null && StreamSegment.Seal(_generation, _journal, cancellationToken) is { } path)
        {
            LogSealed(logger, job.Name, path);
        }

        _journalSince = time.GetUtcNow();
    }

    public void Dispose() => Close();

    /// <summary>
    /// Reads what committed since <see cref="_position"/> and ships it. The WAL may have been restarted since the last
    /// read (a checkpoint let the next writer start over from frame 1, with salt-1 one up) or truncated: the line goes
    /// on only when it is certain no frame of the old WAL is missed, because a reader held since the last read kept
    /// every later frame in place (so the old WAL ended where the last read did: <see cref="_endKnown"/>), or because
    /// the old WAL's frames after the position are still in the file, whole, up to where they provably end
    /// (<see cref="OldWalEndProven"/>; after Cellar was down). Anything less is a possible gap: <see cref="StreamLost"/>.
    /// </summary>
    private int Ship()
    {
        var wal = _live!.Wal;
        var header = WalReader.Header(wal);
        if (header is not { } h)
        {
            return _walEmpty || _endKnown || _position.Frame == 0 ? 0 : throw new StreamLost("the WAL was truncated before Cellar read all of it");
        }

        if (h.PageSize != _generation!.Manifest.PageSize)
        {
            throw new StreamLost($"the page size changed to {h.PageSize} (VACUUM)");
        }

        var shipped = 0;
        if (_walEmpty)
        {
            _position = WalPosition.Start(h);
            _walEmpty = false;
            _history!.Begin(h, new Dictionary<uint, long>(), trusted: !_unwatched);
        }
        else if (!_position.IsIn(h))
        {
            // While a reader was held since the last read, the WAL could be restarted or truncated only once every frame
            // in it was one that reader saw, all shipped by the last read; and any WAL after it, until this one, could
            // hold no frame (a frame committed after the reader began can never be checkpointed). So this WAL goes on
            // the line from its first frame, whatever its salts (a writer that never restarted a WAL itself writes new,
            // random ones). Otherwise (Cellar was down) only the proof below will do.
            if (!_endKnown)
            {
                // The new WAL may already have overwritten frames the history points at.
                _history!.Distrust();
                if (_position.RestartsTo(h) != 1)
                {
                    throw new StreamLost("the WAL was replaced, or restarted more than once, while Cellar was not holding it");
                }

                var tail = WalReader.Scan(wal, h, _position);
                var fresh = WalReader.Scan(wal, h, WalPosition.Start(h));
                if (!OldWalEndProven(h, tail, fresh) || WalReader.Header(wal) != h)
                {
                    throw new StreamLost("the WAL was restarted before Cellar read all of it");
                }

                shipped += Append(tail.Committed, h);
            }

            // The file holds the old WAL's end exactly, and nothing of this one, when a reader was held since before
            // it began: a restart needs every reader off the old WAL's frames, and no checkpoint writes the file under
            // a reader of the file alone.
            _history!.Begin(h, new Dictionary<uint, long>(), trusted: _endKnown && !_unwatched);
            _position = WalPosition.Start(h);
            _endKnown = false;
        }

        _unwatched = false;

        // Only what the wal-index counts as committed: frames past it may be a writer's that dies before it commits. The
        // step fails, before the previous reader lets go, when it cannot say (the reader just begun would have repaired
        // a header a dead writer left torn): moving the reader past unshipped frames would let a checkpoint copy them
        // into the database file.
        var scan = WalReader.Scan(wal, h, _position, lastFrame: _live.CommittedEnd(h));
        _walLength = scan.Length;
        return shipped + Append(scan.Committed, h);
    }

    /// <summary>
    /// True when the old WAL's frames after the position (<paramref name="tail"/>) are provably all of them, read after
    /// the new WAL (<paramref name="fresh"/>, in <paramref name="header"/>) had written its frames. The new WAL must not
    /// have reached the position: its frames are written from 1 upward, so everything past its end, the frame it may be
    /// writing included, is as the old WAL left it. Then the old frames end either at a frame that is not one of them,
    /// or at the end of a file that was not cut: SQLite cuts a WAL only when it truncates it (TRUNCATE, which leaves it
    /// shorter than it was when last read) or to a journal_size_limit (a size that ends inside a frame).
    /// </summary>
    private bool OldWalEndProven(WalHeader header, WalScan tail, WalScan fresh)
    {
        if (fresh.BreakFrame > _position.Frame)
        {
            return false;
        }

        return tail.BreakAtEndOfFile
            ? (tail.Length - WalHeader.Size) % header.FrameSize == 0 && tail.Length >= Math.Max(_walLength, header.FrameOffset(_position.Frame + 1))
            : tail.BreakSalts != (header.Salt1, header.Salt2);
    }

    private int Append(IReadOnlyList<WalTransaction> transactions, WalHeader header)
    {
        if (transactions.Count == 0)
        {
            return 0;
        }

        if (_journal!.Records.Count == 0)
        {
            _journalSince = time.GetUtcNow();
        }

        _journal.Append(_txid + 1, time.GetUtcNow(), transactions, _live!.Wal, header, _history!);
        _txid += transactions.Count;
        _position = transactions[^1].End;
        return transactions.Count;
    }

    private void Close()
    {
        try
        {
            _backgroundCancel?.Cancel();
            CollectBackground(wait: true);
            if (_journal is not null)
            {
                Seal(CancellationToken.None);
            }
        }
        catch (Exception e) when (e is CellarException or IOException or UnauthorizedAccessException)
        {
            // The journal's records are durable as they are: the next follower seals them.
            LogSealFailed(logger, job.Name, e.Message);
        }
        finally
        {
            _journal?.Dispose();
            _journal = null;
            _history = null;
            _generation = null;
            _live?.Dispose();
            _live = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream {Job}: starting a new generation: {Reason}")]
    private static partial void LogNewGeneration(ILogger logger, string job, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream {Job}: could not seal the journal on closing ({Error}); the next start seals it")]
    private static partial void LogSealFailed(ILogger logger, string job, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "stream {Job}: sealed {Segment}")]
    private static partial void LogSealed(ILogger logger, string job, string segment);
}

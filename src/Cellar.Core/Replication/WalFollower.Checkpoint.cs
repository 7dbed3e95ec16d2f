namespace Cellar.Core.Replication;

/// <summary>
/// The checkpoints Cellar runs itself. Its read transaction keeps the app's checkpoints from restarting the WAL over
/// unshipped frames, so the WAL would grow without end if Cellar did not let it start over: once the WAL holds 1000
/// frames (SQLite's own autocheckpoint size, past which each of the app's commits tries a checkpoint itself) or
/// <see cref="Configuration.StreamJob.CheckpointBytes"/>, a PASSIVE checkpoint copies what it can without holding anyone
/// up, then, with everything shipped, a RESTART checkpoint lets the next writer start from frame 1. RESTART reports the
/// WAL's last frame, so the follower knows the old WAL ended exactly there and the next one follows on.
/// </summary>
internal sealed partial class WalFollower
{
    private static readonly TimeSpan RestartWait = TimeSpan.FromSeconds(1);

    private bool DueForCheckpoint() =>
        !_walEmpty && _position.Frame > 0 && WalReader.Header(_live!.Wal) is { } h && _position.IsIn(h)
        && (_position.Frame >= Configuration.JobDefaults.StreamCheckpointFrames || h.FrameOffset(_position.Frame + 1) >= job.CheckpointBytes);

    private int Checkpoint()
    {
        var live = _live!;
        live.Checkpoint("PASSIVE", TimeSpan.Zero);

        // What the app committed during that copy goes in without a lock too, once the reader has moved up to it, so the
        // RESTART, which holds the app's writers off while it works, finds next to nothing left to copy and sync.
        live.BeginNext();
        var shipped = Ship();
        live.EndPrevious();
        live.Checkpoint("PASSIVE", TimeSpan.Zero);
        shipped += Ship();

        // The wal-index with every transaction it counts shipped: if none commits until a reader is held again (the same
        // iChange), the WAL ended here whatever the app's own checkpoint does meanwhile (it may restart or truncate it).
        var everyCommitShipped = WalIndexHeader.Read(live.Shm) is { } before && before.MaxFrame == _position.Frame
            && (before.Salt1, before.Salt2) == (_position.Salt1, _position.Salt2) ? before : (WalIndexHeader?)null;
        live.EndRead();

        // No reader now: until the RESTART below says where the WAL ended, a restart seen later proves nothing, and the
        // database file may take frames not yet shipped, so it no longer tells what a page was before them. The RESTART
        // follows at once, to keep the moment short.
        _endKnown = false;
        _history!.Distrust();
        _unwatched = true;
        try
        {
            var (done, frames) = live.Checkpoint("RESTART", RestartWait);
            if (done && WalReader.Header(live.Wal) is { } h && _position.IsIn(h))
            {
                if (frames > _position.Frame)
                {
                    var scan = WalReader.Scan(live.Wal, h, _position, lastFrame: frames);
                    if (scan.End.Frame == frames)
                    {
                        shipped += Append(scan.Committed, h);
                    }
                }

                _endKnown = _position.Frame == frames;
            }
        }
        finally
        {
            live.BeginRead();
            if (!_endKnown && everyCommitShipped is { } then && WalIndexHeader.Read(live.Shm) is { } now && now.Change == then.Change)
            {
                _endKnown = true;
            }

            // Still the position's WAL once a reader is held again: no new one began in the moment without.
            _unwatched = !(WalReader.Header(live.Wal) is { } header && _position.IsIn(header));
        }

        return shipped;
    }
}

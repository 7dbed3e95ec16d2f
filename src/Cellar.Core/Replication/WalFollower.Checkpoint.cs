using Cellar.Core.Wal;
namespace Cellar.Core.Replication;

/// <summary>
/// The checkpoints Cellar runs itself. Its read transaction keeps the app's checkpoints from copying unshipped frames
/// and from letting the WAL start over, so the WAL would grow without end if Cellar did not let it: once the WAL holds
/// 1000 frames (SQLite's own autocheckpoint size, past which each of the app's commits tries a checkpoint itself) or
/// <see cref="Configuration.StreamJob.CheckpointBytes"/>, PASSIVE checkpoints copy what they can without holding anyone
/// up, then, for a moment with the app's writers held, the last commits are shipped, the reader lets go, the rest is
/// copied and a reader is held again (<see cref="LiveDatabase.CopyEveryFrame"/>). No commit falls in that moment, so
/// the old WAL ends exactly where the follower stands, and the next writer starts a new WAL that follows on.
/// </summary>
internal sealed partial class WalFollower
{
    /// <summary>How long a checkpoint waits for the app's current write transaction; longer, and it is tried at a later step.</summary>
    private static readonly TimeSpan WriterPatience = TimeSpan.FromSeconds(1);

    private bool DueForCheckpoint() =>
        !_walEmpty && _position.Frame > 0 && WalReader.Header(_live!.Wal) is { } h && _position.IsIn(h)
        && (_position.Frame >= Configuration.JobDefaults.StreamCheckpointFrames || h.FrameOffset(_position.Frame + 1) >= job.CheckpointBytes);

    private int Checkpoint(CancellationToken cancellationToken)
    {
        var live = _live!;
        live.Checkpoint();

        // What the app committed during that copy goes in without a lock too, once the reader has moved up to it, so the
        // moment with writers held finds next to nothing left to ship, copy and sync.
        live.BeginNext();
        var shipped = Ship();
        live.EndPrevious();
        live.Checkpoint();

        // Letting go of the reader with writers free would let the app's own checkpoint copy every frame and its next
        // commit start the WAL over, then another start it over again before a reader is back: the commits between
        // would be lost to the stream, which must then start a new generation. Held, nothing commits until a reader is.
        if (live.TryWithWritersHeld(WriterPatience, () =>
        {
            var last = Ship();
            _endKnown = false; // until a reader is held again
            live.CopyEveryFrame();
            _endKnown = true;
            return last;
        }, out var last, cancellationToken))
        {
            shipped += last;
        }

        return shipped;
    }
}

using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// Work the follower hands to a task beside it, one piece at a time, so shipping never waits for it: a base being
/// written, or sealed segments being merged. Its outcome is collected at the start of the next step, on the follower's
/// own thread, which alone changes the follower's state; a failure is logged and the stream goes on.
/// </summary>
internal sealed partial class WalFollower
{
    private Task? _background;
    private string? _backgroundWhat;
    private IDisposable? _backgroundHold;
    private Action? _backgroundDone;
    private Action? _backgroundFailed;
    private CancellationTokenSource? _backgroundCancel;

    /// <summary>True while work runs beside the follower.</summary>
    private bool BackgroundBusy => _background is not null;

    /// <summary>
    /// True while a base's own read transaction holds its moment: it keeps the WAL from starting over, so the follower
    /// runs no checkpoint meanwhile (one would hold the app's writers off for nothing).
    /// </summary>
    private bool BaseHeld => _backgroundHold is not null;

    /// <summary>Waits for the work beside the follower, so a catch-up pass ends with its base stored.</summary>
    public void WaitForBackground() => CollectBackground(wait: true);

    /// <summary>
    /// Runs <paramref name="work"/> beside the follower; <paramref name="hold"/> (a base's read transaction) is released
    /// when it ends, then <paramref name="done"/> or <paramref name="failed"/> runs on the follower's thread.
    /// </summary>
    private void StartBackground(string what, Func<CancellationToken, Task> work, IDisposable? hold, Action done, Action? failed, CancellationToken cancellationToken)
    {
        (_backgroundWhat, _backgroundHold, _backgroundDone, _backgroundFailed) = (what, hold, done, failed);
        _backgroundCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _backgroundCancel.Token;
        _background = Task.Run(() => work(token), token);
    }

    /// <summary>Once the work beside the follower is done (or, with <paramref name="wait"/>, when it is), takes its outcome.</summary>
    private void CollectBackground(bool wait)
    {
        if (_background is not { } work || (!wait && !work.IsCompleted))
        {
            return;
        }

        var (what, done, failed) = (_backgroundWhat!, _backgroundDone, _backgroundFailed);
        Action? then = null;
        try
        {
            work.GetAwaiter().GetResult();
            then = done;
        }
        catch (OperationCanceledException) when (_backgroundCancel!.IsCancellationRequested)
        {
            // Stopping: the next start finds it still due.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever stopped it, the stream itself goes on.
            LogBackgroundFailed(logger, job.Name, what, e.Message);
            then = failed;
        }
        finally
        {
            _backgroundHold?.Dispose();
            _backgroundCancel!.Dispose();
            (_background, _backgroundWhat, _backgroundHold, _backgroundDone, _backgroundFailed, _backgroundCancel) = (null, null, null, null, null, null);
        }

        try
        {
            then?.Invoke();
        }
        catch (Exception e) when (e is CellarException or IOException or UnauthorizedAccessException)
        {
            // What follows the work (retention after a base) failing stops nothing: it runs again after the next.
            LogBackgroundFailed(logger, job.Name, what, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "stream {Job}: {What} failed ({Error}); the stream goes on, and it is tried again later")]
    private static partial void LogBackgroundFailed(ILogger logger, string job, string what, string error);
}

namespace Cellar.Core.Replication;

/// <summary>
/// What wakes a stream's follower between steps: the WAL changing (inotify), or a step asked for now. The offsite
/// uploader asks before each pass, so the segment it puts ends at the moment of the pass rather than at the follower's
/// last step, up to a batch window (<see cref="StreamRunner.BatchWindow"/>) and a step earlier: that much less of the
/// app's writes is lost with the server, for no request more.
/// </summary>
public sealed class StreamWake : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly Lock _gate = new();

    // Completed when a step is asked for; a new one once a step has begun.
    private TaskCompletionSource _asked = NewSource();

    // Completed when a step that began after the ask has ended.
    private TaskCompletionSource? _answer;

    /// <summary>The WAL changed: the follower steps as soon as its batch window allows.</summary>
    public void Signal()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken.
            }
        }
    }

    /// <summary>
    /// Asks the follower for a step now, and waits until one that began after this call has ended, or for
    /// <paramref name="patience"/> at most: a step that copies a base or waits on the app's writers for its checkpoint
    /// takes longer, and then what was shipped before it goes as it is.
    /// </summary>
    public async Task StepNowAsync(TimeSpan patience, CancellationToken cancellationToken)
    {
        Task answered;
        lock (_gate)
        {
            _answer ??= NewSource();
            answered = _answer.Task;
            _asked.TrySetResult();
        }

        Signal();
        try
        {
            await answered.WaitAsync(patience, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The step goes on; this pass does not wait for it.
        }
    }

    /// <summary>The follower, between steps: waits for a signal, or <paramref name="poll"/> at most.</summary>
    internal Task WaitAsync(TimeSpan poll, CancellationToken cancellationToken) => _signal.WaitAsync(poll, cancellationToken);

    /// <summary>The follower, before a step: waits out the rest of its batch window, unless a step is asked for now.</summary>
    internal async Task BatchAsync(TimeSpan rest, CancellationToken cancellationToken)
    {
        Task asked;
        lock (_gate)
        {
            asked = _asked.Task;
        }

        await (await Task.WhenAny(Task.Delay(rest, cancellationToken), asked).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>The follower, as a step begins: what the step answers, for it to complete once it has ended.</summary>
    internal TaskCompletionSource? Begin()
    {
        lock (_gate)
        {
            var answer = _answer;
            _answer = null;
            if (_asked.Task.IsCompleted)
            {
                _asked = NewSource();
            }

            return answer;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _signal.Dispose();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

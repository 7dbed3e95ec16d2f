namespace Cellar.Daemon;

/// <summary>
/// How a run asks a background worker for a pass: asks that come while the worker is busy fold into one more pass
/// after the current one, never a queue of them.
/// </summary>
internal sealed class WakeUp : IDisposable
{
    private readonly SemaphoreSlim _asked = new(0, 1);

    /// <summary>Asks for a pass (a no-op when one is asked for already).</summary>
    public void Ask()
    {
        try
        {
            _asked.Release();
        }
        catch (SemaphoreFullException)
        {
            // Asked already: that pass takes in this ask too.
        }
    }

    /// <summary>Waits until a pass is asked for, and takes the ask.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _asked.WaitAsync(cancellationToken);

    public void Dispose() => _asked.Dispose();
}

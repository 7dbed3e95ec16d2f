using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Scheduling;

/// <summary>
/// Where every run waits its turn, whoever asked for it (the schedule, a catch-up, the API): runs of one database
/// go one at a time, in order (backups, dumps and rotation of the same files never overlap); different databases
/// run side by side up to a limit. A run asked for while the same job (and tag) is still waiting is not queued
/// twice: the caller gets the waiting run back, marked as coalesced.
/// </summary>
public sealed partial class JobDispatcher(JobContinuation run, int maxParallelDatabases, ILogger<JobDispatcher> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<QueuedRun>> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _busy = new(StringComparer.Ordinal);
    private readonly List<Task> _workers = [];
    private readonly SemaphoreSlim _parallel = new(maxParallelDatabases, maxParallelDatabases);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<Guid, QueuedRun> _runs = [];
    private readonly Queue<Guid> _runOrder = new();
    private bool _closed;

    // Runs are remembered for /runs/{id} until this many newer ones have been queued.
    private const int RememberedRuns = 1000;

    /// <summary>The run with <paramref name="id"/>, if it is recent enough to be remembered.</summary>
    public QueuedRun? Find(Guid id)
    {
        lock (_lock)
        {
            return _runs.GetValueOrDefault(id);
        }
    }

    /// <summary>Queues a run of <paramref name="job"/>, or returns the one already waiting (then <paramref name="coalesced"/> is true).</summary>
    public QueuedRun Enqueue(JobConfig job, string? tag, out bool coalesced)
    {
        coalesced = false;
        lock (_lock)
        {
            if (_closed)
            {
                throw new CellarException("Cellar is shutting down and takes no new runs");
            }

            var database = job.Database.Name;
            if (!_waiting.TryGetValue(database, out var queue))
            {
                queue = _waiting[database] = new Queue<QueuedRun>();
            }

            if (queue.FirstOrDefault(r => r.Job == job && r.Tag == tag) is { } waiting)
            {
                coalesced = true;
                return waiting;
            }

            var queued = new QueuedRun(Guid.NewGuid(), job, tag);
            queue.Enqueue(queued);
            _runs[queued.Id] = queued;
            _runOrder.Enqueue(queued.Id);
            if (_runOrder.Count > RememberedRuns)
            {
                _runs.Remove(_runOrder.Dequeue());
            }

            if (_busy.Add(database))
            {
                _workers.Add(Task.Run(() => WorkAsync(database)));
            }

            return queued;
        }
    }

    /// <summary>
    /// Stops taking runs; waits up to <paramref name="grace"/> for the running ones, then cancels them (a cancelled
    /// backup removes its temp files). Runs still waiting never start.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Task[] workers;
        lock (_lock)
        {
            _closed = true;
            foreach (var queue in _waiting.Values)
            {
                while (queue.TryDequeue(out var dropped))
                {
                    dropped.Outcome.TrySetCanceled();
                }
            }

            workers = [.. _workers];
        }

        var all = Task.WhenAll(workers);
        if (await Task.WhenAny(all, Task.Delay(grace)).ConfigureAwait(false) != all)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);
    }

    /// <summary>Releases the semaphore and token source; call after <see cref="StopAsync"/>.</summary>
    public void Dispose()
    {
        _parallel.Dispose();
        _stopping.Dispose();
    }

    private async Task WorkAsync(string database)
    {
        await _parallel.WaitAsync().ConfigureAwait(false);
        try
        {
            while (true)
            {
                QueuedRun next;
                lock (_lock)
                {
                    if (!_waiting[database].TryDequeue(out next!))
                    {
                        _busy.Remove(database);
                        return;
                    }
                }

                await RunOneAsync(next).ConfigureAwait(false);
            }
        }
        finally
        {
            _parallel.Release();
        }
    }

    private async Task RunOneAsync(QueuedRun queued)
    {
        queued.Running.TrySetResult();
        try
        {
            queued.Outcome.TrySetResult(await run(new JobRequest(queued.Job, queued.Tag), _stopping.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            queued.Outcome.TrySetCanceled();
        }
        catch (Exception e) when (e is CellarException or IOException or UnauthorizedAccessException)
        {
            // JobRunner has logged and recorded it; the queue goes on with the next run.
            var job = queued.Job.Name;
            LogRunFailed(logger, job, e.Message);
            queued.Outcome.TrySetException(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {Job}: run failed: {Error}")]
    private static partial void LogRunFailed(ILogger logger, string job, string error);
}

/// <summary>One run waiting in, or taken from, a <see cref="JobDispatcher"/>.</summary>
/// <param name="Id">Its id (for the API's <c>/runs/{id}</c>).</param>
/// <param name="Job">The job.</param>
/// <param name="Tag">Its tag, for jobs whose file names carry one.</param>
public sealed record QueuedRun(Guid Id, JobConfig Job, string? Tag)
{
    /// <summary>queued, running, succeeded, failed or cancelled.</summary>
    public string State => Outcome.Task.Status switch
    {
        TaskStatus.RanToCompletion => "succeeded",
        TaskStatus.Faulted => "failed",
        TaskStatus.Canceled => "cancelled",
        _ => Running.Task.IsCompleted ? "running" : "queued",
    };

    /// <summary>Completes when the run starts.</summary>
    public TaskCompletionSource Running { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with what the run did, its error, or cancelled.</summary>
    public TaskCompletionSource<JobOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

namespace Cellar.Core.IO;

/// <summary>
/// Runs work that keeps a core busy for a while (compressing and proving a block, checking a database, reading a
/// snapshot into the compressor, hashing a file) on a thread of its own, below the rest of Cellar
/// (<see cref="CpuPriority.LowerForHeavyWork"/>), rather than on the thread pool. There, such work took the threads
/// the daemon's requests need, at the requests' own priority, so a trigger during a backup waited for a block or a
/// slice of one. A thread of its own costs some microseconds to start, against milliseconds to seconds of work. What
/// the work's caller does once it is done may go on on that thread until it next waits, at the same low priority.
/// </summary>
internal static class OwnThread
{
    /// <summary>Runs <paramref name="work"/> on a new thread; its result, or its exception, is the task's.</summary>
    public static Task<T> Run<T>(Func<T> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(
            () =>
            {
                CpuPriority.LowerForHeavyWork();
                return work();
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>Runs <paramref name="work"/> on a new thread; its exception, if any, is the task's.</summary>
    public static Task Run(Action work, CancellationToken cancellationToken) => Run(
        () =>
        {
            work();
            return true;
        },
        cancellationToken);
}

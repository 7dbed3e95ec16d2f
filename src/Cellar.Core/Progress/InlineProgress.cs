namespace Cellar.Core.Progress;

/// <summary>
/// Reports on the calling thread. <see cref="Progress{T}"/> posts every report to the thread pool, so reports
/// can arrive out of order, or after the operation they describe has finished.
/// </summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

using Cellar.Core.Progress;

namespace Cellar.Tests.Support;

/// <summary>
/// Hears a job's progress on the thread that reports it (unlike <see cref="Progress{T}"/>, which posts to the thread
/// pool): a test can cancel at an exact point of the work, and knows nothing ran between the report and its reaction.
/// </summary>
internal sealed class SynchronousProgress(Action<JobProgress> report) : IProgress<JobProgress>
{
    public void Report(JobProgress value) => report(value);
}

using Cellar.Core.Configuration;
using Cellar.Core.Progress;

namespace Cellar.Core.Jobs;

/// <summary>A run asked for: which job, its tag (for jobs whose file names carry one), and where progress goes.</summary>
public sealed record JobRequest(JobConfig Job, string? Tag = null, IProgress<JobProgress>? Progress = null);

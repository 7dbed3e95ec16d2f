using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Progress;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Snapshots;

/// <summary>
/// Makes one snapshot backup of a job: its <see cref="SnapshotSource"/> through the <see cref="ArtifactWriter"/>, which
/// names, compresses, proves and publishes it.
/// </summary>
internal sealed class SnapshotBackup(TimeProvider time, ILogger? notices)
{
    public async Task<(string Path, Sidecar Sidecar)> RunAsync(JobConfig job, TimeZoneInfo zone, string? tag, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        await using var source = new SnapshotSource(job, time, notices, progress);
        return await new ArtifactWriter(time).WriteAsync(job, zone, tag, source, cancellationToken).ConfigureAwait(false);
    }
}

using Cellar.Core.Catalog;
using Cellar.Core.Retention;

namespace Cellar.Core.Jobs;

/// <summary>A finished backup.</summary>
/// <param name="Path">The stored file.</param>
/// <param name="Sidecar">What it holds and its checksum.</param>
/// <param name="Prune">What retention did afterwards, when it ran.</param>
public sealed record BackupResult(string Path, Sidecar Sidecar, PruneResult? Prune);

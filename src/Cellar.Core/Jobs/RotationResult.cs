using Cellar.Core.Logs;
using Cellar.Core.Retention;

namespace Cellar.Core.Jobs;

/// <summary>A finished rotate job.</summary>
/// <param name="Logs">What happened to each log.</param>
/// <param name="Prune">What retention did afterwards, when it ran.</param>
public sealed record RotationResult(IReadOnlyList<LogOutcome> Logs, PruneResult? Prune);

namespace Cellar.Daemon;

/// <summary>
/// The answer to a trigger with <c>?wait=true</c>, shaped for the seed's callers, who expect a synchronous
/// <c>{success, ...}</c>: the file, its size and how long the run took, or the error.
/// </summary>
internal sealed record TriggerAnswer(bool Success, Guid Id, string? File = null, long? SizeBytes = null, long? DurationMs = null, string? Error = null);

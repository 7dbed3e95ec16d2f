namespace Cellar.Daemon;

/// <summary>A run as the API shows it.</summary>
internal sealed record RunAnswer(Guid Id, string Job, string? Tag, string Status, string? File, string? Error, bool Coalesced);

namespace Cellar.Daemon;

/// <summary>The body of /healthz and /readyz.</summary>
internal sealed record HealthAnswer(bool Ok, IReadOnlyList<string> Problems);

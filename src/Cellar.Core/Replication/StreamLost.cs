namespace Cellar.Core.Replication;

/// <summary>
/// Thrown inside the follower when it cannot prove the line of transactions goes on unbroken from where it stands:
/// the generation ends there and a new one begins from a fresh base. Never seen outside the follower.
/// </summary>
internal sealed class StreamLost(string reason) : Exception(reason);

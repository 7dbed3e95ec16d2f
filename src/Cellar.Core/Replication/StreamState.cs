namespace Cellar.Core.Replication;

/// <summary>Where a running follower stands, for the daemon's /metrics and health.</summary>
/// <param name="Job">The stream job.</param>
/// <param name="Generation">The generation it writes, once it has one.</param>
/// <param name="Txid">The last transaction it shipped.</param>
/// <param name="LastShipped">When it last shipped a transaction.</param>
/// <param name="CaughtUp">When it last read the WAL to its end and had shipped everything committed (null: never yet).</param>
/// <param name="WalBytes">The size of the <c>-wal</c> file then.</param>
/// <param name="LastError">What failed at its last step, until a step succeeds again.</param>
public sealed record StreamState(string Job, string? Generation, long Txid, DateTimeOffset? LastShipped, DateTimeOffset? CaughtUp, long WalBytes, string? LastError);

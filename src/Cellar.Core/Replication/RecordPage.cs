namespace Cellar.Core.Replication;

/// <summary>
/// A page a shipped transaction changed: its number and bytes, which are the page itself, or, when
/// <paramref name="Check"/> is set, its change from the page before the transaction (<see cref="Compression.PageDelta"/>),
/// and the check (<see cref="StreamRecord.Check"/>) of the page the two must make.
/// </summary>
internal sealed record RecordPage(uint Number, ReadOnlyMemory<byte> Data, ulong? Check);

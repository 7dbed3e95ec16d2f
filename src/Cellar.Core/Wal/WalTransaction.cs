namespace Cellar.Core.Wal;

/// <summary>
/// One committed transaction found in a WAL: the frame holding each page it changed (the last one, where a page was
/// written twice), the database's size in pages after it, and the position just after its commit frame.
/// </summary>
internal sealed record WalTransaction(IReadOnlyList<(uint Page, long Frame)> Pages, uint DatabasePages, WalPosition End);

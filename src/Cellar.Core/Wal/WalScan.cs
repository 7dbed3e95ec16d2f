namespace Cellar.Core.Wal;

/// <summary>
/// What reading a WAL from a position found: the transactions committed after it, where the valid frames ended (the
/// first frame that is missing, of another WAL, or fails the checksum chain), and what that frame was.
/// </summary>
/// <param name="Committed">Whole transactions, oldest first.</param>
/// <param name="End">The position after the last commit frame (the start position when there was none).</param>
/// <param name="BreakFrame">The first frame that did not continue the chain.</param>
/// <param name="BreakAtEndOfFile">True when that frame is (partly) past the end of the file.</param>
/// <param name="BreakSalts">That frame's salts, when it was in the file.</param>
/// <param name="Length">The file's length when the scan began.</param>
internal sealed record WalScan(IReadOnlyList<WalTransaction> Committed, WalPosition End, long BreakFrame, bool BreakAtEndOfFile, (uint Salt1, uint Salt2)? BreakSalts, long Length);

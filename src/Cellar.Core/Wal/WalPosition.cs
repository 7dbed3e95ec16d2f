namespace Cellar.Core.Wal;

/// <summary>
/// How far a follower has read one WAL: the WAL's identity (its salts and checkpoint sequence) and the last frame taken
/// (0: none yet), with the running checksum after it, which the next frame must continue.
/// </summary>
internal readonly record struct WalPosition(uint Salt1, uint Salt2, uint CheckpointSequence, long Frame, uint S0, uint S1)
{
    /// <summary>The start of the WAL <paramref name="header"/> begins: no frame taken, the chain starting from the header's checksum.</summary>
    public static WalPosition Start(WalHeader header) => new(header.Salt1, header.Salt2, header.CheckpointSequence, 0, header.S0, header.S1);

    /// <summary>True when <paramref name="header"/> is the header of the WAL this position is in.</summary>
    public bool IsIn(WalHeader header) => header.Salt1 == Salt1 && header.Salt2 == Salt2;

    /// <summary>
    /// How many restarts of the WAL lie between this one and <paramref name="header"/>'s, by salt-1, which every restart
    /// moves up by one in the header all connections share. (The checkpoint sequence is no count: each connection writes
    /// its own.)
    /// </summary>
    public uint RestartsTo(WalHeader header) => unchecked(header.Salt1 - Salt1);
}

namespace Cellar.Core.Replication;

/// <summary>
/// Where a repeated reader of a generation's journal got to: the record after transaction <see cref="Txid"/> begins at
/// byte <see cref="Offset"/> of the journal whose first record is transaction <see cref="First"/>. The offsite upload
/// reads the journal every second; with this it reads only what was appended since, not the whole journal (up to a
/// segment's worth of pages) again. A seal empties the journal, which then begins with another transaction: the
/// offset is stale, and the journal is read from its start.
/// </summary>
internal sealed class JournalCursor
{
    private string? _generation;

    /// <summary>The journal's first transaction, when the offset was found.</summary>
    public long First { get; private set; }

    /// <summary>The last transaction read.</summary>
    public long Txid { get; private set; }

    /// <summary>The byte just after it.</summary>
    public long Offset { get; private set; }

    /// <summary>Where the record after <paramref name="txid"/> of <paramref name="generation"/> begins, if this cursor knows.</summary>
    public long? OffsetAfter(Generation generation, long txid) => _generation == generation.Id && Txid == txid ? Offset : null;

    /// <summary>Notes that the record of <paramref name="txid"/>, in a journal beginning with <paramref name="first"/>, ends at <paramref name="offset"/>.</summary>
    public void Read(Generation generation, long first, long txid, long offset) => (_generation, First, Txid, Offset) = (generation.Id, first, txid, offset);
}

namespace Cellar.Core.Replication;

/// <summary>What one catch-up pass of a stream job did (<c>cellar run</c> on a stream job).</summary>
/// <param name="Generation">The generation written to.</param>
/// <param name="Shipped">Transactions shipped by this pass.</param>
/// <param name="Txid">The last transaction of the generation now.</param>
/// <param name="NewGeneration">True when the pass began the generation (and wrote its base).</param>
public sealed record StreamPass(string Generation, int Shipped, long Txid, bool NewGeneration)
{
    /// <summary>What failed when the pass copied the stream to a destination, if anything (the run then exits 1, as a failed backup copy does).</summary>
    public string? OffsiteFailure { get; init; }

    /// <summary>One line for the run's report and the job's state.</summary>
    public string Describe() =>
        $"generation {Generation}{(NewGeneration ? " (new, base written)" : "")}: {Shipped} transaction(s) shipped, now at transaction {Txid}";
}

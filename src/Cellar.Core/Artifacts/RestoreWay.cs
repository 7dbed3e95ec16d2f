namespace Cellar.Core.Artifacts;

/// <summary>
/// How a stored artifact comes back, which follows from what the proof of it leaves in its scratch file: a whole
/// database is swapped in for the target, a database of some tables has those tables copied into the target, and
/// anything else (text) is not restored by Cellar at all.
/// </summary>
internal enum RestoreWay
{
    /// <summary>The proof expands it to a whole database, which <c>RestoreService</c> swaps in.</summary>
    WholeDatabase,

    /// <summary>The proof loads it into a database of its tables, which <c>TableRestore</c> copies into the target.</summary>
    Tables,

    /// <summary>Not a database: it is read with other tools (<see cref="ArtifactKind.RestoreHint"/> says which).</summary>
    None,
}

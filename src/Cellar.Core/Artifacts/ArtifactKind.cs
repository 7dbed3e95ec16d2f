using Cellar.Core.Catalog;

namespace Cellar.Core.Artifacts;

/// <summary>
/// One kind of stored artifact (a database snapshot, a table dump, a log archive): what it is called, how a stored
/// file of it is proven, and how it comes back. Each kind lives in its own folder beside the <see cref="ArtifactSource"/>
/// that produces it; <c>ArtifactKinds</c> finds the kind a sidecar names. Nothing outside a kind asks which kind a
/// file is: it asks the kind.
/// </summary>
internal abstract class ArtifactKind(string name, string displayName, string noun, RestoreWay restore, string restoreHint)
{
    /// <summary>The sidecar's <see cref="Sidecar.Kind"/> for this kind.</summary>
    public string Name { get; } = name;

    /// <summary>What an operator calls it: "database snapshot".</summary>
    public string DisplayName { get; } = displayName;

    /// <summary>What a run that refuses to keep one calls it: "backup not kept", "archive not kept".</summary>
    public string Noun { get; } = noun;

    /// <summary>How a stored file of this kind comes back.</summary>
    public RestoreWay Restore { get; } = restore;

    /// <summary>The operator's next step when a restore is asked of it in another way: "read it with zcat".</summary>
    public string RestoreHint { get; } = restoreHint;

    /// <summary>
    /// What new sidecars record as their kind. A snapshot's has never said (an absent kind is a snapshot), and a
    /// sidecar's format does not change with this code.
    /// </summary>
    public virtual string? Recorded => Name;

    /// <summary>
    /// What in a file's name says it is of this kind (<c>.sql</c>), or null where names do not tell. Asked only where a
    /// sidecar cannot say: it is missing or unreadable, or its seal does not cover the kind.
    /// </summary>
    public virtual string? NameMark => null;

    /// <summary>Whether <paramref name="fileName"/> ends in <see cref="NameMark"/>, or has it before a compression extension.</summary>
    public bool HasItsName(string fileName) =>
        NameMark is { } mark && Path.GetFileName(fileName) is var name
        && (name.EndsWith(mark, StringComparison.Ordinal) || name.Contains(mark + ".", StringComparison.Ordinal));

    /// <summary>What a stored file of this kind holds, for a run's summary line ("2.1 MiB database"), sizes put by <paramref name="bytes"/>.</summary>
    public virtual string Summary(Sidecar sidecar, Func<long, string> bytes) => $"{bytes(sidecar.SourceBytes)} database";

    /// <summary>The most a stored file of this kind may expand to, from its sidecar: a bomb stops there.</summary>
    public virtual long ExpandedLimit(Sidecar sidecar) => sidecar.SourceBytes;

    /// <summary>
    /// Proves a stored file whose size already matches its sidecar: decompress it in full, checking the stored bytes'
    /// checksum on the way, and check what comes out against what the sidecar recorded. What the proof leaves in
    /// <paramref name="scratchPath"/> (which the caller owns) is what a restore of <see cref="Restore"/> uses.
    /// </summary>
    public abstract Task<VerificationResult> ProveAsync(StoredArtifact stored, string scratchPath, IProgress<double>? progress, CancellationToken cancellationToken);

    /// <summary>Why <paramref name="path"/>, of this kind, cannot be restored the way <paramref name="asked"/>.</summary>
    public string Refusal(string path, RestoreWay asked) =>
        $"{path} is a {DisplayName} ({RestoreHint}), not {(asked == RestoreWay.Tables ? "a table dump" : "a database snapshot")}";
}

using System.Text.Json.Serialization;
using Cellar.Core.Catalog;

namespace Cellar.Daemon;

/// <summary>One stored backup as the API lists it; <see cref="Job"/> is left out where the context names the job.</summary>
internal sealed record BackupAnswer(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Job,
    string File,
    DateTimeOffset Created,
    long SizeBytes,
    bool Verified,
    int Stage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SourceBytes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? WritersHeldOffMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<OffsiteCopyAnswer>? Offsite)
{
    /// <summary>
    /// The entry as listed, with its sidecar's history (how long it took, how much it held, the writers' wait) when it
    /// has one, and given <paramref name="confirmations"/> (<c>OffsiteSync.Confirmations</c>) its confirmed offsite copies.
    /// </summary>
    public static BackupAnswer Of(BackupEntry entry, string? job = null, IReadOnlyDictionary<string, IReadOnlyList<(string Destination, DateTimeOffset ConfirmedAt)>>? confirmations = null) =>
        new(job, entry.Path, entry.Created, entry.SizeBytes, entry.LooksGood, entry.Stage, entry.Problem,
            entry.Sidecar?.DurationMs, entry.Sidecar?.SourceBytes, entry.Sidecar?.WritersHeldOffMs,
            confirmations is null ? null : [.. confirmations.GetValueOrDefault(entry.Path, []).Select(c => new OffsiteCopyAnswer(c.Destination, c.ConfirmedAt))]);
}

/// <summary>One confirmed offsite copy of a backup: where, and when it was confirmed there.</summary>
internal sealed record OffsiteCopyAnswer(string Destination, DateTimeOffset ConfirmedAt);

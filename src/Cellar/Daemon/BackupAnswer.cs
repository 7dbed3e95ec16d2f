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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem)
{
    public static BackupAnswer Of(BackupEntry entry, string? job = null) =>
        new(job, entry.Path, entry.Created, entry.SizeBytes, entry.LooksGood, entry.Stage, entry.Problem);
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Offsite;

/// <summary>
/// How far a stream job's history is confirmed at one destination: the generation being uploaded, its last transaction
/// there (and when it committed), and the files of it already put (its manifest, its bases). Beside the backup ledgers
/// (<c>BACKUP_ROOT/.cellar-offsite/DATABASE.DESTINATION.stream-JOB.json</c>), replaced atomically after every confirmed
/// PUT, so a restarted daemon sends nothing twice and skips nothing; lost, the next pass starts the newest generation
/// over (the same ranges again, which the restore reads as one).
/// </summary>
internal sealed class StreamLedger
{
    private readonly string _path;

    private StreamLedger(string path, StreamLedgerFile file)
    {
        _path = path;
        File = file;
    }

    /// <summary>What is confirmed.</summary>
    public StreamLedgerFile File { get; private set; }

    /// <summary>Reads the ledger of <paramref name="job"/> at <paramref name="destination"/> (empty when there is none yet).</summary>
    public static StreamLedger Load(StreamJob job, OffsiteDestination destination)
    {
        var path = Path.Combine(OffsiteLedger.FolderOf(job.Database), $"{job.Database.Name}.{destination.Name}.stream-{job.Name}.json");
        if (!System.IO.File.Exists(path))
        {
            return new StreamLedger(path, new StreamLedgerFile(null, 0, null, [], null, 0));
        }

        try
        {
            return new StreamLedger(path, JsonSerializer.Deserialize(SecureFiles.ReadSmall(path), StreamLedgerJson.Default.StreamLedgerFile) ?? throw new JsonException("null"));
        }
        catch (JsonException e)
        {
            throw new CellarException($"offsite ledger {path} is not valid ({e.Message}); move it away and the stream's newest generation is uploaded again", e);
        }
    }

    /// <summary>Starts on <paramref name="generation"/>: nothing of it is confirmed yet.</summary>
    public void Begin(string generation) => Save(new StreamLedgerFile(generation, 0, null, [], null, 0));

    /// <summary>Records that the file <paramref name="name"/> of the current generation is confirmed.</summary>
    public void Put(string name) => Save(File with { Files = [.. File.Files, name] });

    /// <summary>
    /// Records, before its PUT, the range of the segment object about to be sent: should the PUT fail (or Cellar die
    /// during it), the next pass sends exactly that range again, under the same name, so a part a server kept of the
    /// failed request is replaced, never left beside the range that followed.
    /// </summary>
    public void Sending(long last) => Save(File with { SendingLast = last });

    /// <summary>Records that the current generation's transactions up to <paramref name="txid"/> are in compacted objects.</summary>
    public void Compacted(long txid) => Save(File with { CompactedUpTo = txid });

    /// <summary>Records that the current generation's transactions up to <paramref name="txid"/> (committed at <paramref name="committed"/>) are confirmed.</summary>
    public void Confirm(long txid, DateTimeOffset committed) => Save(File with { Txid = txid, Committed = committed, SendingLast = null });

    private void Save(StreamLedgerFile file)
    {
        SecureFiles.EnsureFolder(Path.GetDirectoryName(_path)!);
        DurableJson.Write(_path, file, StreamLedgerJson.Default.StreamLedgerFile, replace: true);
        File = file;
    }
}

/// <summary>
/// The stream ledger's content; <c>SendingLast</c>: the last transaction of the segment object being sent after
/// <c>Txid</c>, if any; <c>CompactedUpTo</c>: the transactions up to it are in compacted objects.
/// </summary>
internal sealed record StreamLedgerFile(string? Generation, long Txid, DateTimeOffset? Committed, IReadOnlyList<string> Files, long? SendingLast, long CompactedUpTo);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StreamLedgerFile))]
internal sealed partial class StreamLedgerJson : JsonSerializerContext;

/// <summary>How far a stream's copy at a destination reaches, from the ledger and the job's folder (no request is sent).</summary>
/// <param name="Destination">The destination.</param>
/// <param name="Newest">The job folder's newest point (null: nothing streamed yet).</param>
/// <param name="Confirmed">When the last transaction confirmed there committed (null: none yet).</param>
/// <param name="OldestPending">When the oldest transaction the destination lacks committed (null: it lacks none).</param>
public sealed record StreamOffsiteReach(string Destination, DateTimeOffset? Newest, DateTimeOffset? Confirmed, DateTimeOffset? OldestPending)
{
    /// <summary>Where each destination of <paramref name="job"/> stands.</summary>
    public static IReadOnlyList<StreamOffsiteReach> Of(StreamJob job)
    {
        var newest = Replication.StreamCatalog.List(job) is [.., var last] ? last.To : (DateTimeOffset?)null;
        return [.. job.Database.Offsite.Where(d => d.Takes(job)).Select(destination =>
        {
            var ledger = StreamLedger.Load(job, destination).File;
            return new StreamOffsiteReach(destination.Name, newest, ledger.Committed, PendingSince(job, ledger));
        })];
    }

    /// <summary>When the oldest transaction (or, of a generation not begun there, the base) the destination lacks committed; null when it lacks none.</summary>
    internal static DateTimeOffset? PendingSince(StreamJob job, StreamLedgerFile ledger)
    {
        try
        {
            var generations = Replication.Generation.List(job.Folder).Where(g => g.Manifest.Database == job.Database.Path).ToList();
            var current = generations.FirstOrDefault(g => g.Id == ledger.Generation);
            if (current is not null && ledger.Files.Count == 0)
            {
                return current.Manifest.Created;
            }

            if (current is not null && Replication.StreamHistory.After(current, ledger.Txid).FirstOrDefault() is { } record)
            {
                return record.Committed;
            }

            // Nothing waits in the current generation: a newer one, not begun there, waits since it began.
            return generations.FirstOrDefault(g => ledger.Generation is null || string.CompareOrdinal(g.Id, ledger.Generation) > 0)?.Manifest.Created;
        }
        catch (CellarException)
        {
            return null; // what is wrong with the folder is said where it is read for a pass or a restore
        }
    }
}

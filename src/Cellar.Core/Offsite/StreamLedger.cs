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

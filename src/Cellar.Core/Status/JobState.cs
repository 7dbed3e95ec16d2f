using System.Text.Json;
using System.Text.Json.Serialization;
using Cellar.Core.IO;

namespace Cellar.Core.Status;

/// <summary>
/// The outcome of a job's last run, kept in <c>.cellar-state.json</c> in the job's folder. A failed run
/// leaves no backup to read it from, and status must still be able to say why the last one failed.
/// </summary>
public sealed record JobState
{
    private const string FileName = ".cellar-state.json";

    /// <summary>When the last run finished.</summary>
    public DateTimeOffset? LastRun { get; init; }

    /// <summary>Whether it succeeded.</summary>
    public bool LastRunSucceeded { get; init; }

    /// <summary>When the newest failure happened.</summary>
    public DateTimeOffset? LastFailure { get; init; }

    /// <summary>Its one-line message.</summary>
    public string? LastFailureMessage { get; init; }

    /// <summary>What the last successful run did, one line per item (for a rotate job: each log, and how it was emptied).</summary>
    public IReadOnlyList<string>? LastRunNotes { get; init; }

    /// <summary>
    /// Set while a run is under way (when it started, and the process): found set by a run that holds the folder's
    /// lock, it tells of a run that was killed (SIGKILL, OOM, power loss) before it could record anything.
    /// </summary>
    public RunningMark? Running { get; init; }

    /// <summary>Reads the state of a job folder; empty when there is none or it is unreadable.</summary>
    public static JobState Read(string folder)
    {
        try
        {
            var path = Path.Combine(folder, FileName);
            return File.Exists(path) ? JsonSerializer.Deserialize(SecureFiles.ReadSmall(path), JobStateJson.Default.JobState) ?? new JobState() : new JobState();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return new JobState();
        }
    }

    /// <summary>Records a run's outcome atomically; best effort, since the run itself already decided success.</summary>
    public static void Record(string folder, DateTimeOffset at, string? failure, IReadOnlyList<string>? notes = null)
    {
        try
        {
            if (!Directory.Exists(folder))
            {
                return;
            }

            var previous = Read(folder);
            var state = failure is null
                ? previous with { LastRun = at, LastRunSucceeded = true, LastRunNotes = notes, Running = null }
                : previous with { LastRun = at, LastRunSucceeded = false, LastFailure = at, LastFailureMessage = failure, Running = null };
            Write(folder, state);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full folder already failed the run with a clearer message.
        }
    }

    /// <summary>Marks a run as under way, before it touches anything; recording its outcome clears the mark.</summary>
    public static void MarkRunning(string folder, DateTimeOffset at, int pid) =>
        Write(folder, Read(folder) with { Running = new RunningMark(at, pid) });

    /// <summary>Clears the mark of a run that stopped cleanly without an outcome to record (cancelled).</summary>
    public static void ClearRunning(string folder)
    {
        var state = Read(folder);
        if (state.Running is not null)
        {
            Write(folder, state with { Running = null });
        }
    }

    private static void Write(string folder, JobState state) =>
        DurableJson.Write(Path.Combine(folder, FileName), state, JobStateJson.Default.JobState, replace: true);
}

/// <summary>A run under way: when it started and which process runs it.</summary>
/// <param name="Started">When the run started.</param>
/// <param name="Pid">The process running it.</param>
public sealed record RunningMark(DateTimeOffset Started, int Pid);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JobState))]
internal sealed partial class JobStateJson : JsonSerializerContext;

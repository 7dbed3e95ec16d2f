using System.CommandLine;
using System.Text.Json;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Cellar.Core.Status;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary><c>cellar status [--json]</c>: per job, the newest backup, its age, count, bytes and last failure.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };
        var command = new Command("status", "Show each job's newest backup, its age, count, total size and last failure") { json };
        command.SetAction(CellarCli.Action((parse, context, _) =>
        {
            var statuses = JobStatus.All(context.Config, context.Time);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(statuses.Select(StatusItem.From), CliJson.Default.IEnumerableStatusItem));
            }
            else
            {
                Print(statuses, context.Config, context.Time);
                PrintOffsite(context.Config, context.Time);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    public static void Print(IReadOnlyList<JobStatus> statuses, CellarConfig config, TimeProvider time)
    {
        var table = new Table().AddColumns("job", "type", "schedule", "newest backup", "age", "count", "total", "last failure");
        foreach (var s in statuses)
        {
            // A stream's newest point is its last transaction shipped; its count is of generations.
            var window = config.Jobs.FirstOrDefault(j => j.QualifiedName(config) == s.Job) is StreamJob stream ? StreamCatalog.List(stream) : null;
            table.AddRow(
                Markup.Escape(s.Job),
                s.Type.ToString().ToLowerInvariant(),
                Markup.Escape(s.Schedule ?? "on demand"),
                Markup.Escape(window is [.., var newest] ? $"restorable to {Output.Instant(newest.To, config.TimeZone)}" : s.Newest?.Name ?? "-"),
                Output.Age(window is [.., var last] ? time.GetUtcNow() - last.To : s.NewestAge),
                (window?.Count ?? s.Count).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Output.Bytes(window?.Sum(g => g.SizeBytes) ?? s.TotalBytes),
                s.LastFailureMessage is null ? "-" : Markup.Escape($"{Output.Time(s.LastFailure, config.TimeZone)}: {s.LastFailureMessage}"));
        }

        Output.Console.Write(table);
        foreach (var s in statuses)
        {
            foreach (var bad in s.FailedVerification)
            {
                Output.Console.WriteLine($"{s.Job}: {bad.Name} {bad.Problem}", Style.Plain);
            }

            if (s.LongestFullCheckWait is { } wait)
            {
                Output.Console.WriteLine($"{s.Job}: {s.AwaitingFullCheck.Count} backup(s) waiting for their full check, the oldest for {Output.Age(wait)} (cellar verify runs it now)", Style.Plain);
            }
        }

        foreach (var s in statuses.Where(s => s.LastRunNotes.Count > 0))
        {
            foreach (var note in s.LastRunNotes)
            {
                Output.Console.WriteLine($"{s.Job}: {note}", Style.Plain);
            }
        }
    }

    /// <summary>One line per offsite destination: what it still lacks (from the ledgers; no request is sent).</summary>
    private static void PrintOffsite(CellarConfig config, TimeProvider time)
    {
        var now = time.GetUtcNow();
        foreach (var lag in new OffsiteSync(config, time, NullLogger.Instance).Lag())
        {
            Output.Console.WriteLine(lag.Problem is { } problem ? $"offsite {lag.Destination} ({lag.Database}): {problem}"
                : lag.OldestPending is { } oldest
                ? $"offsite {lag.Destination} ({lag.Database}): {lag.Pending} backup(s) not confirmed yet, the oldest is {Output.Age(now - oldest)} old (cellar sync)"
                : $"offsite {lag.Destination} ({lag.Database}): up to date", Style.Plain);
        }

        // A stream at each destination: how far its copy there reaches, against the job's folder.
        foreach (var stream in config.Jobs.OfType<StreamJob>())
        {
            foreach (var reach in StreamOffsiteReach.Of(stream))
            {
                var shown = $"offsite {reach.Destination} (stream {stream.Name})";
                Output.Console.WriteLine(
                    reach.Newest is not { } newest ? $"{shown}: nothing streamed yet"
                    : reach.OldestPending is { } pending
                        ? $"{shown}: confirmed to {(reach.Confirmed is { } at ? Output.Instant(at, config.TimeZone) : "nothing yet")}; the oldest transaction not there yet is {Output.Age(now - pending)} old"
                        : $"{shown}: up to date (to {Output.Instant(newest, config.TimeZone)})",
                    Style.Plain);
            }
        }
    }
}

/// <summary>One job in <c>cellar status --json</c>.</summary>
internal sealed record StatusItem(
    string Job, string Type, string? Schedule, DateTimeOffset? NextRun, string? Newest, DateTimeOffset? NewestCreated, double? NewestAgeSeconds,
    bool NewestVerified, int Count, long TotalBytes, DateTimeOffset? LastFailure, string? LastFailureMessage, IReadOnlyList<string> LastRunNotes,
    IReadOnlyList<string> FailedVerification, int AwaitingFullCheck, double? LongestFullCheckWaitSeconds)
{
    public static StatusItem From(JobStatus s) => new(
        s.Job, s.Type.ToString().ToLowerInvariant(), s.Schedule, s.NextRun, s.Newest?.Path, s.Newest?.Created, s.NewestAge?.TotalSeconds,
        s.Newest?.LooksGood ?? false, s.Count, s.TotalBytes, s.LastFailure, s.LastFailureMessage, s.LastRunNotes,
        [.. s.FailedVerification.Select(b => $"{b.Path}: {b.Problem}")], s.AwaitingFullCheck.Count, s.LongestFullCheckWait?.TotalSeconds);
}

using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core.Logs;
using Cellar.Core.Offsite;
using Microsoft.Extensions.Logging;
using Cellar.Core.Retention;

namespace Cellar.Cli;

/// <summary><c>cellar run JOB [--tag TEXT]</c>: run one job now; the created file's path is the last line (a rotate job prints each archive).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "The job to run, e.g. daily" };
        var tag = new Option<string?>("--tag") { Description = "Text to tag the backup with (e.g. a gallery name); slugged into the file name" };
        var command = new Command("run", "Run one job now and print the created file") { job, tag };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            var runner = new JobRunner(context.Config, context.Time, context.Loggers);
            if (context.Config.FindJob(parse.GetValue(job)!).Type == JobType.Rotate)
            {
                if (parse.GetValue(tag) is not null)
                {
                    throw new ConfigException("--tag does not apply to a rotate job: its archives are named after their logs");
                }

                var rotation = await runner.RotateAsync(parse.GetValue(job)!, cancellationToken).ConfigureAwait(false);
                foreach (var log in rotation.Logs)
                {
                    Console.Error.WriteLine(log.Describe());
                }

                ReportPrune(rotation.Prune);
                foreach (var archive in rotation.Logs.Select(l => l.Archive).OfType<string>())
                {
                    Console.WriteLine(archive);
                }

                return await OffsiteAsync(context, parse.GetValue(job)!, cancellationToken).ConfigureAwait(false);
            }

            var result = await ProgressDisplay.RunAsync(progress =>
                runner.RunAsync(parse.GetValue(job)!, parse.GetValue(tag), progress, cancellationToken)).ConfigureAwait(false);
            var s = result.Sidecar;
            var source = s.IsDump ? $"{s.RowCounts.Values.Sum()} rows of {s.RowCounts.Count} tables" : $"{Output.Bytes(s.SourceBytes)} database";
            Console.Error.WriteLine(
                $"{s.Job}: {source} -> {Output.Bytes(s.SizeBytes)} {s.Compression}, verified, {s.DurationMs} ms"
                + (s.WritersHeldOffMs is { } held ? $", writers held off {held} ms (rollback journal)" : ""));
            ReportPrune(result.Prune);
            Console.WriteLine(result.Path);
            return await OffsiteAsync(context, parse.GetValue(job)!, cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary>
    /// Copies the database's new backups to its offsite destinations. The backup is safe on disk either way; a
    /// failed upload stays queued for <c>cellar sync</c> and the exit code (1) says so.
    /// </summary>
    private static async Task<int> OffsiteAsync(CliContext context, string jobName, CancellationToken cancellationToken)
    {
        var database = context.Config.FindJob(jobName).Database;
        if (database.Offsite.Count == 0)
        {
            return 0;
        }

        var sync = new OffsiteSync(context.Config, context.Time, context.Loggers.CreateLogger<OffsiteSync>());
        return SyncCommand.Report(await sync.RunAsync(database, null, repair: false, cancellationToken).ConfigureAwait(false));
    }

    private static void ReportPrune(PruneResult? prune)
    {
        if (prune is { Deleted.Count: > 0 })
        {
            Console.Error.WriteLine($"pruned {prune.Deleted.Count} old backup(s)");
        }

        foreach (var failure in prune?.Failures ?? [])
        {
            Console.Error.WriteLine($"warning: prune: {failure}");
        }
    }
}

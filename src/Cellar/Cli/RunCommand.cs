using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
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
            var request = new JobRequest(context.Config.FindJob(parse.GetValue(job)!), parse.GetValue(tag));
            if (request.Job.Type == JobType.Rotate && request.Tag is not null)
            {
                throw new ConfigException("--tag does not apply to a rotate job: its archives are named after their logs");
            }

            var pipeline = Pipeline(context);
            var outcome = await ProgressDisplay.RunAsync(progress => pipeline.RunAsync(request with { Progress = progress }, cancellationToken)).ConfigureAwait(false);
            Report(outcome);
            var copied = SyncCommand.Report(outcome.Offsite);
            return outcome.Stream?.OffsiteFailure is null ? copied : 1;
        }));
        return command;
    }

    /// <summary>How the CLI runs a job: the runner, then an offsite copy of what it made.</summary>
    public static JobPipeline Pipeline(CliContext context) =>
        new(new JobRunner(context.Config, context.Time, context.Loggers), new OffsiteCopyStep(context.Config, context.Time, context.Loggers));

    /// <summary>
    /// A run in a few lines on stderr (each log of a rotation, or the backup's size and proof; what retention did), and
    /// the files it made on stdout, the last line the newest, for scripts.
    /// </summary>
    public static void Report(JobOutcome outcome)
    {
        foreach (var log in outcome.Logs)
        {
            Console.Error.WriteLine(log.Describe());
        }

        if (outcome.Logs.Count == 0 && outcome.Sidecar is { } s)
        {
            var source = ArtifactKinds.Of(s)?.Summary(s, Output.Bytes) ?? Output.Bytes(s.SourceBytes);
            Console.Error.WriteLine(
                $"{s.Job}: {source} -> {Output.Bytes(s.SizeBytes)} {s.Compression}, {Output.Proven(s)}, {s.DurationMs} ms"
                + (s.WritersHeldOffMs is { } held ? $", writers held off {held} ms" : ""));
        }

        if (outcome.Stream is { } stream)
        {
            Console.Error.WriteLine($"{outcome.Job.Name}: {stream.Describe()}");
            if (stream.OffsiteFailure is { } failure)
            {
                Console.Error.WriteLine($"{outcome.Job.Name}: {failure}; the stream goes there with the next pass");
            }
        }

        ReportPrune(outcome.Prune);
        foreach (var file in outcome.Files)
        {
            Console.WriteLine(file.Path);
        }
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

using System.CommandLine;
using Cellar.Core.Jobs;

namespace Cellar.Cli;

/// <summary><c>cellar run JOB [--tag TEXT]</c>: run one job now; the created file's path is the last line.</summary>
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
            var result = await ProgressDisplay.RunAsync(progress =>
                runner.RunAsync(parse.GetValue(job)!, parse.GetValue(tag), progress, cancellationToken)).ConfigureAwait(false);
            var s = result.Sidecar;
            Console.Error.WriteLine(
                $"{s.Job}: {Output.Bytes(s.SourceBytes)} database -> {Output.Bytes(s.SizeBytes)} {s.Compression}, verified, {s.DurationMs} ms"
                + (s.WritersHeldOffMs is { } held ? $", writers held off {held} ms (rollback journal)" : ""));
            if (result.Prune is { Deleted.Count: > 0 } prune)
            {
                Console.Error.WriteLine($"pruned {prune.Deleted.Count} old backup(s)");
            }

            foreach (var failure in result.Prune?.Failures ?? [])
            {
                Console.Error.WriteLine($"warning: prune: {failure}");
            }

            Console.WriteLine(result.Path);
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using Cellar.Core.IO;
using Cellar.Core.Offsite;
using Cellar.Core.Retention;
using Cellar.Logging;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary><c>cellar prune [--dry-run] [JOB]</c>: apply retention now.</summary>
internal static class PruneCommand
{
    public static Command Create()
    {
        var job = new Argument<string?>("job") { Description = "Only this job", Arity = ArgumentArity.ZeroOrOne };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be deleted, delete nothing" };
        var command = new Command("prune", "Delete backups older than their job's keepDays (always keeping the newest keepAtLeast good ones)") { job, dryRun };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            var pruner = new Pruner(context.Time, OffsiteHold.Instance, context.Loggers.CreateLogger<Pruner>());
            var jobs = parse.GetValue(job) is { } name ? [context.Config.FindJob(name)] : context.Config.Jobs.ToList();
            var failures = 0;
            foreach (var j in jobs.Where(j => Directory.Exists(j.Folder)))
            {
                using var folderLock = await FolderLock.AcquireAsync(j.Folder, context.Time, cancellationToken, notices: context.Loggers.CreateLogger(FileLoggerProvider.MaintenanceCategory)).ConfigureAwait(false);
                var result = pruner.Prune(j, context.Config.TimeZone, parse.GetValue(dryRun));
                foreach (var entry in result.Deleted)
                {
                    Console.WriteLine($"{(result.DryRun ? "would delete" : "deleted")} {entry.Path}");
                }

                foreach (var failure in result.Failures)
                {
                    Console.Error.WriteLine($"cellar: could not delete {failure}");
                }

                failures += result.Failures.Count;
                Console.Error.WriteLine($"{j.QualifiedName(context.Config)}: {result.Deleted.Count} {(result.DryRun ? "to delete" : "deleted")}, {result.Kept.Count} kept");
            }

            return failures == 0 ? 0 : 1;
        }));
        return command;
    }
}

using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Restore;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary><c>cellar restore (FILE | --latest JOB | --at TIME [--job JOB]) --to PATH [--force]</c>.</summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "The backup to restore", Arity = ArgumentArity.ZeroOrOne };
        var latest = new Option<string?>("--latest") { Description = "Restore the newest verified backup of this job" };
        var at = new Option<string?>("--at") { Description = "Restore the newest backup made at or before this time (ISO 8601; local time in the configured zone unless it has an offset)" };
        var job = new Option<string?>("--job") { Description = "With --at: only this job's backups" };
        var to = new Option<string>("--to") { Description = "The database file to write", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing file (kept as PATH.pre-restore-YYYYMMDD-HHMMSS)" };
        var command = new Command("restore", "Verify a backup and restore it atomically") { file, latest, at, job, to, force };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            var chosen = new[] { parse.GetValue(file) is not null, parse.GetValue(latest) is not null, parse.GetValue(at) is not null }.Count(x => x);
            if (chosen != 1)
            {
                throw new ConfigException("say which backup: a FILE, --latest JOB or --at TIME (exactly one)");
            }

            var backup = parse.GetValue(file) is { } path ? Path.GetFullPath(path)
                : parse.GetValue(latest) is { } latestJob ? BackupSelector.Latest(context.Config, latestJob).Path
                : BackupSelector.At(context.Config, parse.GetValue(at)!, parse.GetValue(job)).Path;
            var service = new RestoreService(context.Time, context.Config.TimeZone, context.Loggers.CreateLogger<RestoreService>());
            var result = await ProgressDisplay.RunAsync(progress =>
                service.RestoreAsync(backup, parse.GetValue(to)!, parse.GetValue(force), progress, cancellationToken)).ConfigureAwait(false);
            Console.Error.WriteLine($"restored {backup} (taken {result.Sidecar.Created:u}, verified)");
            if (result.SavedPrevious is { } saved)
            {
                Console.Error.WriteLine($"previous database kept as {saved}");
            }

            foreach (var companion in result.SavedCompanions)
            {
                Console.Error.WriteLine($"moved aside {companion} (it must never be replayed into the restored file)");
            }

            Console.WriteLine(result.Target);
            return 0;
        }));
        return command;
    }
}

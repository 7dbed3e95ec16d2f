using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Progress;
using Cellar.Core.Replication;
using Cellar.Core.Verification;
using Cellar.Logging;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>
/// <c>cellar verify [FILE | --all]</c>: re-run the restore drill on stored backups; exit 1 naming each bad file. Each
/// result and the summary also go to <c>maintenance.log</c>, beside the daemon's scheduled checks.
/// </summary>
internal static partial class VerifyCommand
{
    /// <summary>The stream drill of each job (rebuild the newest point, compare it page for page with the live database); returns how many failed.</summary>
    private static async Task<int> DrillAsync(CliContext context, IReadOnlyList<StreamJob> jobs, CancellationToken cancellationToken)
    {
        var bad = 0;
        foreach (var job in jobs)
        {
            var result = await StreamDrill.RunAsync(job, context.Time, context.Config.TimeZone, context.Loggers, cancellationToken).ConfigureAwait(false);
            if (result.Ok)
            {
                Console.WriteLine($"ok   stream {job.Name} at {result.Point}: rebuilt from the stream, identical to the live database page for page, integrity_check ok");
            }
            else
            {
                bad++;
                Console.Error.WriteLine($"BAD  stream {job.Name} at {result.Point}: {result.Problem}");
            }
        }

        return bad;
    }

    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "One backup file (default: all backups of all jobs)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every backup of every job" };
        var command = new Command("verify", "Check stored backups: checksum, decompression, integrity_check, foreign keys, row counts") { file, all };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            if (parse.GetValue(file) is not null && parse.GetValue(all))
            {
                throw new ConfigException("give either a FILE or --all, not both");
            }

            if (parse.GetValue(file) is { } name && context.Config.Jobs.FirstOrDefault(j => j.Name == name) is StreamJob named)
            {
                return await DrillAsync(context, [named], cancellationToken).ConfigureAwait(false) == 0 ? 0 : 1;
            }

            var paths = parse.GetValue(file) is { } one
                ? [(Path: Path.GetFullPath(one), Job: BackupCatalog.JobOf(context.Config, one))]
                : context.Config.Jobs.SelectMany(j => BackupCatalog.List(j, context.Config.TimeZone).Select(e => (e.Path, Job: (JobConfig?)j))).ToList();
            var log = context.Loggers.CreateLogger(FileLoggerProvider.MaintenanceCategory + ".Verify");
            var bad = 0;
            foreach (var (path, owner) in paths)
            {
                var result = await ProgressDisplay.RunAsync(progress => BackupVerifier.VerifyAsync(
                    path,
                    owner,
                    context.Time,
                    progress is null ? null : new InlineProgress<double>(f => progress.Report(new JobProgress(Path.GetFileName(path), f))),
                    log,
                    cancellationToken)).ConfigureAwait(false);
                if (result.Ok)
                {
                    Console.WriteLine($"ok   {path}");
                    LogOk(log, path);
                }
                else
                {
                    bad++;
                    var problems = string.Join("; ", result.Problems);
                    Console.Error.WriteLine($"BAD  {path}: {problems}");
                    LogBad(log, path, problems);
                }
            }

            Console.Error.WriteLine(paths.Count == 0 ? "no backups to verify" : $"{paths.Count - bad} ok, {bad} bad");
            LogSummary(log, paths.Count - bad, bad);
            if (parse.GetValue(file) is null)
            {
                bad += await DrillAsync(context, [.. context.Config.Jobs.OfType<StreamJob>()], cancellationToken).ConfigureAwait(false);
            }

            return bad == 0 ? 0 : 1;
        }));
        return command;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "verify: {Path} ok")]
    private static partial void LogOk(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "verify: {Path} is bad: {Problems}")]
    private static partial void LogBad(ILogger logger, string path, string problems);

    [LoggerMessage(Level = LogLevel.Information, Message = "verify: {Ok} ok, {Bad} bad")]
    private static partial void LogSummary(ILogger logger, int ok, int bad);
}

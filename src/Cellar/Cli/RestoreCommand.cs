using System.CommandLine;
using Cellar.Core;
using Cellar.Core.Artifacts;
using Cellar.Core.Artifacts.Kinds;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Restore;
using Cellar.Core.Verification;
using Cellar.Logging;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>
/// <c>cellar restore (FILE | --latest JOB | --at TIME [--job JOB]) --to PATH [--force]</c> for snapshots, and
/// <c>[--tables a,b] [--no-safety-copy]</c> for table dumps, which replace tables inside the live database. With
/// <c>--from DEST</c> the backup (FILE is then its object key) comes from an offsite destination: downloaded beside
/// the target, decrypted, checked against its sidecar, then restored by the same path as a local backup.
/// </summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "The backup to restore", Arity = ArgumentArity.ZeroOrOne };
        var latest = new Option<string?>("--latest") { Description = "Restore the newest verified backup of this job" };
        var at = new Option<string?>("--at") { Description = "Restore the newest backup made at or before this time (ISO 8601, e.g. as `cellar list` shows it; a time to the second, minute or a date alone covers all of it; local time in the configured zone unless it has an offset)" };
        var job = new Option<string?>("--job") { Description = "With --at: only this job's backups" };
        var to = new Option<string>("--to") { Description = "The database file to write", Required = true };
        var force = new Option<bool>("--force") { Description = "Snapshots: replace an existing file (kept as PATH.pre-restore-YYYYMMDD-HHMMSS)" };
        var tables = new Option<string?>("--tables") { Description = "Table dumps: restore only these tables (comma-separated; default: every dumped table)" };
        var noSafetyCopy = new Option<bool>("--no-safety-copy") { Description = "Table dumps: do not copy the target to PATH.pre-restore-YYYYMMDD-HHMMSS first" };
        var from = new Option<string?>("--from") { Description = "Restore from this offsite destination (FILE is then an object key, as `cellar list --from` shows)" };
        var acceptUnsealed = new Option<bool>("--accept-unsealed") { Description = "With --from and a key configured: also accept copies without a seal (made before there was a key); nothing proves Cellar made them" };
        var command = new Command("restore", "Verify a backup and restore it: a snapshot atomically as a whole file, a table dump table by table in one transaction")
        {
            file, latest, at, job, to, force, tables, noSafetyCopy, from, acceptUnsealed,
        };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            var chosen = new[] { parse.GetValue(file) is not null, parse.GetValue(latest) is not null, parse.GetValue(at) is not null }.Count(x => x);
            if (chosen != 1)
            {
                throw new ConfigException("say which backup: a FILE, --latest JOB or --at TIME (exactly one)");
            }

            var tableNames = TableNames(parse.GetValue(tables));
            var stream = (parse.GetValue(latest) ?? parse.GetValue(job)) is { } named && context.Config.FindJob(named) is StreamJob streamJob ? streamJob : null;
            if (stream is not null && (tableNames is not null || parse.GetValue(noSafetyCopy)))
            {
                throw new ConfigException($"--tables and --no-safety-copy apply to table dumps; job '{stream.Name}' streams the whole database");
            }

            var until = stream is not null && parse.GetValue(at) is { } time ? BackupSelector.LastInstantOf(time, context.Config.TimeZone) : (DateTimeOffset?)null;
            if (parse.GetValue(from) is { } destination)
            {
                using var download = DownloadFolder.Create(parse.GetValue(to)!);
                using var remote = RemoteTarget.Open(context, destination, parse.GetValue(acceptUnsealed));
                if (stream is not null)
                {
                    Console.Error.WriteLine($"downloading stream {stream.Name} from {remote.Destination.Location}");
                    var fetched = await remote.Streams.FetchAsync(stream, until, download.Path, cancellationToken).ConfigureAwait(false);
                    return await RestoreStreamAsync(context, fetched, until, parse.GetValue(to)!, parse.GetValue(force), cancellationToken).ConfigureAwait(false);
                }

                var (local, shown) = await DownloadAsync(context, remote, parse, file, latest, at, job, download.Path, cancellationToken).ConfigureAwait(false);
                return await RestoreAsync(parse, context, local, shown, to, force, tableNames, noSafetyCopy, cancellationToken).ConfigureAwait(false);
            }

            if (parse.GetValue(acceptUnsealed))
            {
                throw new ConfigException("--accept-unsealed applies to restores from an offsite destination (--from)");
            }

            if (stream is not null)
            {
                return await RestoreStreamAsync(context, stream, until, parse.GetValue(to)!, parse.GetValue(force), cancellationToken).ConfigureAwait(false);
            }

            IReadOnlyList<string> candidates = parse.GetValue(file) is { } path ? [Path.GetFullPath(path)]
                : parse.GetValue(latest) is { } latestJob ? [.. BackupSelector.Latest(context.Config, latestJob).Select(e => e.Path)]
                : [.. BackupSelector.At(context.Config, parse.GetValue(at)!, parse.GetValue(job)).Select(e => e.Path)];
            for (var i = 0; ; i++)
            {
                try
                {
                    return await RestoreAsync(parse, context, candidates[i], candidates[i], to, force, tableNames, noSafetyCopy, cancellationToken).ConfigureAwait(false);
                }
                catch (BackupRejectedException rejected) when (rejected.Result.StoredFileBad)
                {
                    // Rotted since it was last checked: remembered, so list, status and the next restore know; with
                    // --latest or --at the next good backup is the nearest state to what was asked for. (A failure of
                    // the expanded copy alone says nothing about the backup, and is reported as it is.)
                    await RecordRejectedAsync(context, candidates[i], rejected, cancellationToken).ConfigureAwait(false);
                    if (i + 1 == candidates.Count)
                    {
                        throw;
                    }

                    Console.Error.WriteLine($"cellar: warning: {rejected.Message}; it is marked as failed; restoring the one before it, {candidates[i + 1]}");
                }
            }
        }));
        return command;
    }

    /// <summary>Records a backup a restore refused in its job folder's ledger; a backup outside every job folder has none.</summary>
    private static async Task RecordRejectedAsync(CliContext context, string backup, BackupRejectedException rejected, CancellationToken cancellationToken)
    {
        if (BackupCatalog.JobOf(context.Config, backup) is { } owner)
        {
            var log = context.Loggers.CreateLogger(FileLoggerProvider.MaintenanceCategory + ".Verify");
            await BackupVerifier.RecordAsync(backup, owner, rejected.Result, context.Time, log, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Chooses (or checks the named) copy and downloads it; returns the local file and how to name it to the operator
    /// (where it came from).
    /// </summary>
    private static async Task<(string File, string Shown)> DownloadAsync(
        CliContext context, RemoteTarget remote, ParseResult parse, Argument<string?> file, Option<string?> latest, Option<string?> at, Option<string?> job, string folder, CancellationToken cancellationToken)
    {
        RemoteCopy copy;
        if (parse.GetValue(file) is { } key)
        {
            copy = await remote.Backups.OpenAsync(key, cancellationToken).ConfigureAwait(false);
            await remote.Selection.CheckNamedAsync(copy, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            copy = await remote.Selection.SelectAsync(
                context.Config.FindJob(parse.GetValue(latest) ?? parse.GetValue(job) ?? throw new ConfigException("with --from and --at, say which job's backups: --job JOB")),
                parse.GetValue(at) is { } time ? BackupSelector.LastInstantOf(time, context.Config.TimeZone) : null,
                cancellationToken).ConfigureAwait(false);
        }

        var shown = remote.Destination.Location + copy.Key;
        Console.Error.WriteLine($"downloading {shown}");
        return (await remote.Backups.DownloadAsync(copy, folder, cancellationToken).ConfigureAwait(false), shown);
    }

    private static async Task<int> RestoreAsync(
        ParseResult parse, CliContext context, string backup, string shown, Option<string> to, Option<bool> force, string[]? tables, Option<bool> noSafetyCopy, CancellationToken cancellationToken)
    {
        // Told by its sidecar (or, unreadable, its name) before the check, which then proves what it was told.
        var kind = ArtifactKinds.OfBackup(backup);
        if (kind.Restore == RestoreWay.Tables)
        {
            return await RestoreTablesAsync(context, backup, shown, parse.GetValue(to)!, tables, !parse.GetValue(noSafetyCopy), cancellationToken).ConfigureAwait(false);
        }

        if (tables is not null || parse.GetValue(noSafetyCopy))
        {
            throw new ConfigException($"--tables and --no-safety-copy apply to table dumps; {backup} is a {kind.DisplayName}");
        }

        var service = new RestoreService(context.Time, context.Config.TimeZone, context.Loggers.CreateLogger<RestoreService>());
        var result = await ProgressDisplay.RunAsync(progress =>
            service.RestoreAsync(backup, parse.GetValue(to)!, parse.GetValue(force), progress, cancellationToken)).ConfigureAwait(false);
        Console.Error.WriteLine($"restored {shown} (taken {result.Sidecar.Created:u}, verified)");
        ReportSaved(result);
        Console.WriteLine(result.Target);
        return 0;
    }

    private static async Task<int> RestoreStreamAsync(CliContext context, StreamJob job, DateTimeOffset? at, string to, bool force, CancellationToken cancellationToken)
    {
        var service = new RestoreService(context.Time, context.Config.TimeZone, context.Loggers.CreateLogger<RestoreService>());
        var result = await ProgressDisplay.RunAsync(progress => service.RestoreStreamAsync(job, at, to, force, progress, cancellationToken)).ConfigureAwait(false);
        Console.Error.WriteLine($"restored stream {job.Name} to transaction {result.Sidecar.Tag} (committed by {result.Sidecar.Created:yyyy-MM-dd HH:mm:ss.fff zzz}, verified)");
        ReportSaved(result);
        Console.WriteLine(result.Target);
        return 0;
    }

    private static void ReportSaved(RestoreResult result)
    {
        if (result.SavedPrevious is { } saved)
        {
            Console.Error.WriteLine($"previous database kept as {saved}");
        }

        foreach (var companion in result.SavedCompanions)
        {
            Console.Error.WriteLine($"moved aside {companion} (it must never be replayed into the restored file)");
        }
    }

    private static async Task<int> RestoreTablesAsync(CliContext context, string backup, string shown, string to, string[]? tables, bool safetyCopy, CancellationToken cancellationToken)
    {
        var service = new TableRestore(context.Time, context.Config.TimeZone, context.Loggers.CreateLogger<TableRestore>());
        var result = await ProgressDisplay.RunAsync(progress =>
            service.RestoreAsync(backup, to, tables, safetyCopy, progress, cancellationToken)).ConfigureAwait(false);
        Console.Error.WriteLine($"restored {string.Join(", ", result.RowCounts.Select(c => $"{c.Key} ({c.Value} rows)"))} from {shown} (taken {result.Sidecar.Created:u}, verified)");
        if (result.SafetyCopy is { } saved)
        {
            Console.Error.WriteLine($"the database before the restore is kept as {saved}");
        }

        foreach (var table in result.SchemaChanged)
        {
            Console.Error.WriteLine($"warning: {table} had another schema in {result.Target} than in the dump; it now has the dump's");
        }

        Console.WriteLine(result.Target);
        return 0;
    }

    /// <summary>
    /// The tables <c>--tables</c> names, or null without the option (every dumped table). A value that names none
    /// (<c>""</c>, <c>","</c>, <c>" "</c>) is a usage error: read as "every table" it would overwrite tables the
    /// operator never meant to touch.
    /// </summary>
    private static string[]? TableNames(string? option)
    {
        if (option is null)
        {
            return null;
        }

        var names = option.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return names.Length > 0 ? names
            : throw new ConfigException($"--tables \"{option}\" names no table; list them comma-separated (--tables comments,likes), or leave --tables out to restore every dumped table");
    }
}

using System.CommandLine;
using System.Text.Json;
using Cellar.Core.Catalog;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary><c>cellar list [JOB] [--json] [--from DEST]</c>: the backups on disk, newest first, or those at an offsite destination.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var job = new Argument<string?>("job") { Description = "Only this job", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };
        var from = new Option<string?>("--from") { Description = "List what this offsite destination holds (one LIST request per 1,000 objects)" };
        var command = new Command("list", "List backups") { job, json, from };
        command.SetAction(CellarCli.Action((parse, context, cancellationToken) =>
        {
            if (parse.GetValue(from) is { } destination)
            {
                return ListRemoteAsync(context, destination, parse.GetValue(job), parse.GetValue(json), cancellationToken);
            }

            var jobs = parse.GetValue(job) is { } name ? [context.Config.FindJob(name)] : context.Config.Jobs.ToList();
            var rows = jobs.SelectMany(j => BackupCatalog.List(j, context.Config.TimeZone).Select(e => (Job: j.QualifiedName(context.Config), Entry: e))).ToList();
            if (parse.GetValue(json))
            {
                var items = rows.Select(r => new ListItem(r.Job, r.Entry.Path, r.Entry.Created, r.Entry.SizeBytes, r.Entry.LooksGood, r.Entry.Sidecar?.Tag, r.Entry.Problem));
                Console.WriteLine(JsonSerializer.Serialize(items, CliJson.Default.IEnumerableListItem));
                return Task.FromResult(0);
            }

            var table = new Table().AddColumns("job", "created", "size", "verified", "file");
            foreach (var (jobName, entry) in rows)
            {
                table.AddRow(
                    Markup.Escape(jobName),
                    Output.Time(entry.Created, context.Config.TimeZone),
                    Output.Bytes(entry.SizeBytes),
                    entry.Problem is { } problem ? $"[red]no[/]: {Markup.Escape(problem)}" : "yes",
                    Markup.Escape(entry.Path));
            }

            Output.Console.Write(table);
            return Task.FromResult(0);
        }));
        return command;
    }

    private static async Task<int> ListRemoteAsync(CliContext context, string destination, string? jobName, bool json, CancellationToken cancellationToken)
    {
        using var remote = RemoteTarget.Open(context, destination);
        var prefix = jobName is null ? "" : RemoteTarget.PrefixOf(context.Config.FindJob(jobName));
        var backups = await remote.Backups.ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            var items = backups.Select(b => new RemoteListItem(b.Object.Key, b.Object.SizeBytes, b.Object.LastModified, b.Encrypted, b.HasSidecar));
            Console.WriteLine(JsonSerializer.Serialize(items, CliJson.Default.IEnumerableRemoteListItem));
            return 0;
        }

        var table = new Table().AddColumns("uploaded", "size", "encrypted", "sidecar", "key");
        foreach (var backup in backups)
        {
            table.AddRow(
                Output.Time(backup.Object.LastModified, context.Config.TimeZone),
                Output.Bytes(backup.Object.SizeBytes),
                backup.Encrypted ? "yes" : "no",
                backup.HasSidecar ? "yes" : "[red]missing[/]",
                Markup.Escape(backup.Object.Key));
        }

        Output.Console.Write(table);
        Console.Error.WriteLine($"{backups.Count} backup(s) at {remote.Destination.Location}{prefix}");
        return 0;
    }
}

/// <summary>One backup in <c>cellar list --from DEST --json</c>.</summary>
internal sealed record RemoteListItem(string Key, long SizeBytes, DateTimeOffset Uploaded, bool Encrypted, bool HasSidecar);

/// <summary>One backup in <c>cellar list --json</c>.</summary>
internal sealed record ListItem(string Job, string Path, DateTimeOffset Created, long SizeBytes, bool Verified, string? Tag, string? Problem);

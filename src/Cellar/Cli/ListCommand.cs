using System.CommandLine;
using System.Text.Json;
using Cellar.Core.Catalog;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary><c>cellar list [JOB] [--json]</c>: the backups on disk, newest first.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var job = new Argument<string?>("job") { Description = "Only this job", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };
        var command = new Command("list", "List backups") { job, json };
        command.SetAction(CellarCli.Action((parse, context, _) =>
        {
            var jobs = parse.GetValue(job) is { } name ? [context.Config.FindJob(name)] : context.Config.Jobs.ToList();
            var rows = jobs.SelectMany(j => BackupCatalog.List(j, context.Config.TimeZone).Select(e => (Job: j.QualifiedName(context.Config), Entry: e))).ToList();
            if (parse.GetValue(json))
            {
                var items = rows.Select(r => new ListItem(r.Job, r.Entry.Path, r.Entry.Created, r.Entry.SizeBytes, r.Entry.LooksGood, r.Entry.Sidecar?.Tag, r.Entry.SidecarProblem));
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
                    entry.LooksGood ? "yes" : Markup.Escape(entry.SidecarProblem ?? "no"),
                    Markup.Escape(entry.Path));
            }

            Output.Console.Write(table);
            return Task.FromResult(0);
        }));
        return command;
    }
}

/// <summary>One backup in <c>cellar list --json</c>.</summary>
internal sealed record ListItem(string Job, string Path, DateTimeOffset Created, long SizeBytes, bool Verified, string? Tag, string? Problem);

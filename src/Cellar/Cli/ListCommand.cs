using System.CommandLine;
using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
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
            if (jobs is [StreamJob stream])
            {
                return Task.FromResult(ListStream(context, stream, parse.GetValue(json)));
            }

            var rows = jobs.SelectMany(j => BackupCatalog.List(j, context.Config.TimeZone).Select(e => (Job: j.QualifiedName(context.Config), Entry: e))).ToList();
            if (parse.GetValue(json))
            {
                var items = rows.Select(r => new ListItem(r.Job, r.Entry.Path, r.Entry.Created, r.Entry.SizeBytes, r.Entry.LooksGood, r.Entry.Stage, r.Entry.Sidecar?.Tag, r.Entry.Problem));
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
                    entry.Problem is { } problem ? $"[red]no[/]: {Markup.Escape(problem)}" : entry.AwaitingFullCheck ? "quick (full check pending)" : "yes",
                    Markup.Escape(entry.Path));
            }

            Output.Console.Write(table);
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>A stream job's restorable window, generation by generation: from its first base to its last transaction.</summary>
    private static int ListStream(CliContext context, StreamJob job, bool json)
    {
        var generations = StreamCatalog.List(job);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(generations, CliJson.Default.IReadOnlyListStreamGeneration));
            return 0;
        }

        var table = new Table().AddColumns("generation", "from", "to", "transactions", "bases", "segments", "size");
        foreach (var g in generations)
        {
            table.AddRow(Markup.Escape(g.Id), Output.Instant(g.From, context.Config.TimeZone), Output.Instant(g.To, context.Config.TimeZone), $"{g.Transactions}", $"{g.Bases}", $"{g.Segments}", Output.Bytes(g.SizeBytes));
        }

        Output.Console.Write(table);
        if (generations.Count > 0)
        {
            Console.Error.WriteLine($"{job.Name}: restorable from {Output.Instant(generations[0].From, context.Config.TimeZone)} to {Output.Instant(generations[^1].To, context.Config.TimeZone)} (cellar restore --job {job.Name} --at TIME)");
        }

        return 0;
    }

    /// <summary>
    /// What a destination holds: one LIST request per 1,000 objects. With a key, also each database's sealed manifest
    /// (one GET each), which vouches for when each copy was made and shows copies that are missing (deleted) or not
    /// listed (put back after pruning, or planted); without one, sidecars and manifests cannot be read.
    /// </summary>
    private static async Task<int> ListRemoteAsync(CliContext context, string destination, string? jobName, bool json, CancellationToken cancellationToken)
    {
        using var remote = RemoteTarget.Open(context, destination);
        var job = jobName is null ? null : context.Config.FindJob(jobName);
        var prefix = job is null ? "" : RemoteLayout.PrefixOf(job);
        var backups = await remote.Backups.ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        var databases = job is not null ? [job.Database] : context.Config.Databases.Where(d => d.Offsite.Any(o => o.Name == destination)).ToList();
        var listed = new Dictionary<string, OffsiteEntry>(StringComparer.Ordinal);
        var manifests = new List<string>();
        foreach (var database in databases)
        {
            if (await remote.Selection.ManifestAsync(database.Name, refuse: false, cancellationToken).ConfigureAwait(false) is { } manifest)
            {
                manifests.Add($"{database.Name}: manifest number {manifest.Counter}, written {Output.Time(manifest.Written, context.Config.TimeZone)}");
                foreach (var copy in manifest.Copies.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    listed[copy.Key] = copy;
                }
            }
        }

        var present = backups.Select(b => b.Object.Key).ToHashSet(StringComparer.Ordinal);
        var withKey = remote.Backups.Keys is not null;
        var items = backups
            .Select(b =>
            {
                var entry = listed.GetValueOrDefault(b.Object.Key);
                return new RemoteListItem(b.Object.Key, b.Object.SizeBytes, b.Object.LastModified, b.Encrypted, b.HasSidecar)
                {
                    Created = entry?.Created,
                    Manifest = manifests.Count == 0 ? null : entry is null ? "not listed" : entry.SizeBytes == b.Object.SizeBytes ? "listed" : "size differs",
                };
            })
            .Concat(listed.Values.Where(c => !present.Contains(c.Key)).OrderByDescending(c => c.Created).Select(c =>
                new RemoteListItem(c.Key, c.SizeBytes, null, c.KeyId is not null, false) { Created = c.Created, Manifest = "missing" }))
            .ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(items, CliJson.Default.IEnumerableRemoteListItem));
            return 0;
        }

        var table = new Table().AddColumns("created", "uploaded", "size", "encrypted", "sidecar", "manifest", "key");
        foreach (var item in items)
        {
            table.AddRow(
                item.Created is { } created ? Output.Time(created, context.Config.TimeZone) : "-",
                item.Uploaded is { } uploaded ? Output.Time(uploaded, context.Config.TimeZone) : "-",
                Output.Bytes(item.SizeBytes),
                item.Encrypted ? "yes" : "no",
                item.HasSidecar ? "yes" : item.Manifest == "missing" ? "-" : "[red]missing[/]",
                item.Manifest switch { null => "-", "listed" => "listed", var other => $"[red]{other}[/]" },
                Markup.Escape(item.Key));
        }

        Output.Console.Write(table);
        Console.Error.WriteLine($"{backups.Count} backup(s) at {remote.Destination.Location}{prefix}"
            + (withKey ? string.Concat(manifests.Select(m => $"; {m}")) : "; no key is configured, so sidecars and manifests (creation times, checks) cannot be read"));
        return 0;
    }
}

/// <summary>
/// One backup in <c>cellar list --from DEST --json</c>. <see cref="Created"/> and <see cref="Manifest"/> come from the
/// sealed manifest, so they are null without a key: <c>listed</c>, <c>not listed</c> (put back after pruning, planted,
/// or uploaded since), <c>size differs</c>, or <c>missing</c> (listed but gone: <see cref="Uploaded"/> is then null).
/// </summary>
internal sealed record RemoteListItem(string Key, long SizeBytes, DateTimeOffset? Uploaded, bool Encrypted, bool HasSidecar)
{
    public DateTimeOffset? Created { get; init; }

    public string? Manifest { get; init; }
}

/// <summary>One backup in <c>cellar list --json</c>.</summary>
internal sealed record ListItem(string Job, string Path, DateTimeOffset Created, long SizeBytes, bool Verified, int Stage, string? Tag, string? Problem);

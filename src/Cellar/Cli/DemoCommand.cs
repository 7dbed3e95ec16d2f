using System.CommandLine;
using System.Text.Json.Nodes;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Demo;
using Cellar.Core.Jobs;
using Cellar.Core.Status;
using Cellar.Core.Verification;

namespace Cellar.Cli;

/// <summary>
/// <c>cellar demo [DIR]</c>: a realistic sample portfolio database and app log, a config pointing at them,
/// every job that this version can run executed once and verified, and the status table. DIR must be new, empty,
/// or a demo made before (it holds <see cref="Marker"/>): the demo writes <c>cellar.json</c> and more there, which
/// must never replace someone's files.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The file that marks a folder as made by <c>cellar demo</c>, so running the demo again may reuse it.</summary>
    public const string Marker = ".cellar-demo";

    private const long DatabaseBytes = 40L << 20;

    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Where to put the demo", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "cellar-demo" };
        var command = new Command("demo", "Create a sample database and config, run every job once, verify, show the status") { dir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await RunAsync(Path.GetFullPath(parse.GetValue(dir)!), parse.GetValue(CellarCli.VerboseOption), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return CellarCli.Fail(e, parse.GetValue(CellarCli.VerboseOption));
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(string root, bool verbose, CancellationToken cancellationToken)
    {
        Claim(root);
        var database = Path.Combine(root, "data", "portfolio.sqlite");
        var logs = Path.Combine(root, "logs");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        Directory.CreateDirectory(logs);
        if (!File.Exists(database))
        {
            Console.Error.WriteLine($"creating a sample portfolio database ({DatabaseBytes >> 20} MiB) at {database}");
            await PortfolioDatabase.CreateAsync(database, DatabaseBytes, cancellationToken).ConfigureAwait(false);
        }

        var backendLog = Path.Combine(logs, "backend.log");
        if (!File.Exists(backendLog))
        {
            await BackendLog.WriteAsync(backendLog, 20_000, TimeProvider.System.GetUtcNow().AddDays(-1), cancellationToken).ConfigureAwait(false);
        }

        var configPath = Path.Combine(root, "cellar.json");
        if (!File.Exists(configPath))
        {
            await File.WriteAllTextAsync(configPath, DemoConfig(database, Path.Combine(root, "backups"), logs, backendLog), cancellationToken).ConfigureAwait(false);
        }

        // A config the user has edited since is theirs: running the demo again uses it as it is.
        Console.Error.WriteLine($"config: {configPath}");

        using var context = CliContext.Load(configPath, verbose);
        var pipeline = RunCommand.Pipeline(context);
        foreach (var job in context.Config.Jobs)
        {
            // A rotate job's archives are named after their logs; a tagged backup job shows the seed's gallery backups.
            var tag = job.Type is not (JobType.Rotate or JobType.Stream) && job.FileName.HasTag ? "Summer Collection 2026" : null;
            var outcome = await ProgressDisplay.RunAsync(p => pipeline.RunAsync(new JobRequest(job, tag, p), cancellationToken)).ConfigureAwait(false);
            foreach (var log in outcome.Logs)
            {
                Console.Error.WriteLine($"{job.Name}: {log.Describe()}" + (log.Archive is { } archive ? $" -> {archive}" : string.Empty));
            }

            if (outcome.Stream is { } stream)
            {
                Console.Error.WriteLine($"{job.Name}: {stream.Describe()}");
            }

            if (outcome.Logs.Count == 0 && outcome.Sidecar is { } sidecar)
            {
                Console.Error.WriteLine($"{job.Name}: {outcome.Path} ({Output.Bytes(sidecar.SizeBytes)}, {sidecar.DurationMs} ms, {Output.Proven(sidecar)})");
            }
        }

        var bad = 0;
        foreach (var (job, entry) in context.Config.Jobs.SelectMany(j => BackupCatalog.List(j, context.Config.TimeZone).Select(e => (j, e))))
        {
            var check = await BackupVerifier.VerifyAsync(entry.Path, job, context.Time, null, null, cancellationToken).ConfigureAwait(false);
            bad += check.Ok ? 0 : 1;
            Console.Error.WriteLine($"verify {entry.Name}: {(check.Ok ? "ok" : string.Join("; ", check.Problems))}");
        }

        StatusCommand.Print(JobStatus.All(context.Config, context.Time), context.Config, context.Time);
        Console.WriteLine($"Try: {SelfInvocation.Current()} --config {SelfInvocation.Quoted(configPath)} list");
        return bad == 0 ? 0 : 1;
    }

    /// <summary>Makes <paramref name="root"/> the demo's folder, refusing (before touching anything) one that holds files the demo did not make.</summary>
    private static void Claim(string root)
    {
        var marker = Path.Combine(root, Marker);
        if (File.Exists(root) || (Directory.Exists(root) && !File.Exists(marker) && Directory.EnumerateFileSystemEntries(root).Any()))
        {
            throw new ConfigException($"{root} is not a new or empty folder, nor a demo made before: the demo writes cellar.json and more there; give a new folder (cellar demo DIR)");
        }

        Directory.CreateDirectory(root);
        if (!File.Exists(marker))
        {
            File.WriteAllText(marker, "Made by `cellar demo`: running the demo again reuses this folder and its cellar.json.\n");
        }
    }

    /// <summary>The seed's setup (the same defaults Cellar runs with when there is no config), pointed at the demo folder.</summary>
    private static string DemoConfig(string database, string backups, string logs, string backendLog)
    {
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["database"] = database,
            ["backupRoot"] = backups,
            ["logDir"] = logs,
            ["jobs:logs:path"] = backendLog,
        };
        var root = new JsonObject();
        foreach (var (key, value) in SeedDefaults.Values())
        {
            var parts = key.Split(':');
            JsonNode node = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var isList = int.TryParse(parts[i + 1], out _);
                node = node is JsonArray array
                    ? Child(array, int.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture), isList)
                    : (node[parts[i]] ??= isList ? new JsonArray() : new JsonObject());
            }

            var text = overrides.GetValueOrDefault(key, value!);
            JsonNode leaf = int.TryParse(text, out var number) ? JsonValue.Create(number) : JsonValue.Create(text);
            if (node is JsonArray list)
            {
                list.Add(leaf);
            }
            else
            {
                node[parts[^1]] = leaf;
            }
        }

        // Beyond the seed: the WAL followed continuously under `cellar serve`, restorable to any moment (the demo runs it once).
        root["jobs"]!["live"] = new JsonObject { ["type"] = "stream", ["folder"] = "stream" };
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonNode Child(JsonArray array, int index, bool isList)
    {
        while (array.Count <= index)
        {
            array.Add(isList ? new JsonArray() : new JsonObject());
        }

        return array[index]!;
    }
}

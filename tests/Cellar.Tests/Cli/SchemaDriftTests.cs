using System.Text.Json.Nodes;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// A table the <c>social</c> job lists was renamed after the config was written (a migration): that is a failed run
/// of the job that dumps it, recorded like any failure, never a config error that stops every other command.
/// </summary>
public sealed class SchemaDriftTests
{
    private const long DatabaseBytes = 2 << 20;

    [Fact]
    public async Task A_renamed_social_table_fails_only_the_social_run_and_every_other_command_works()
    {
        using var sandbox = await DriftedSandboxAsync();
        var target = sandbox.Combine("restored.sqlite");

        var social = await sandbox.CellarAsync("run", "social");
        var commands = new[]
        {
            new[] { "run", "daily" },
            ["run", "logs"],
            ["list"],
            ["list", "--json"],
            ["status"],
            ["verify", "--all"],
            ["prune"],
            ["restore", "--latest", "daily", "--to", target],
        };
        var runs = new List<(string Command, CellarRun Run)>();
        foreach (var command in commands)
        {
            runs.Add((string.Join(' ', command), await sandbox.CellarAsync(command)));
        }

        CliSandbox.AssertOneLineError(social, 1, "'follows'", sandbox.Database, "jobs:social:tables:3");
        Assert.All(runs, r => Assert.True(r.Run.ExitCode == 0, $"cellar {r.Command}: {r.Run}"));
        var status = await sandbox.CellarAsync("status", "--json");
        Assert.Contains("jobs:social:tables:3", JsonNode.Parse(status.Stdout)!.AsArray().Single(j => j!["job"]!.GetValue<string>() == "social")!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_renamed_table_the_social_restore_brings_it_back_and_the_next_social_run_succeeds()
    {
        using var sandbox = await DriftedSandboxAsync();

        var restore = await sandbox.CellarAsync("restore", "--latest", "social", "--to", sandbox.Database, "--tables", "follows", "--no-safety-copy");
        var social = await sandbox.CellarAsync("run", "social");

        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(social.ExitCode == 0, social.ToString());
    }

    [Fact]
    public async Task A_restore_whose_index_name_the_renamed_table_still_holds_is_refused_naming_both_and_changes_nothing()
    {
        using var sandbox = await DriftedSandboxAsync(dropIndex: false);
        var before = CliSandbox.HashOf(sandbox.Database);

        var restore = await sandbox.CellarAsync("restore", "--latest", "social", "--to", sandbox.Database, "--tables", "follows", "--no-safety-copy");

        CliSandbox.AssertOneLineError(restore, 1, "idx_follows_followee_id", "follows_v1", "nothing was changed");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
    }

    /// <summary>
    /// A sandbox with daily, social and logs jobs, one backup of each of daily and social, then <c>follows</c> renamed
    /// (its index dropped too, as a migration that replaces the table would).
    /// </summary>
    private static async Task<CliSandbox> DriftedSandboxAsync(bool dropIndex = true)
    {
        var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        try
        {
            var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken))!;
            var log = sandbox.Combine("logs", "backend.log");
            await File.WriteAllTextAsync(log, "GET / 200\n", TestContext.Current.CancellationToken);
            config["jobs"]!["logs"] = new JsonObject { ["type"] = "rotate", ["schedule"] = "0 1 * * *", ["path"] = log, ["folder"] = "logs-archive" };
            await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), TestContext.Current.CancellationToken);
            await sandbox.BackupAsync("daily");
            await sandbox.BackupAsync("social");
            using (var connection = CliSandbox.Open(sandbox.Database, readOnly: false))
            {
                using var command = connection.CreateCommand();
                command.CommandText = "ALTER TABLE follows RENAME TO follows_v1;" + (dropIndex ? " DROP INDEX idx_follows_followee_id;" : "");
                command.ExecuteNonQuery();
            }

            return sandbox;
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
    }
}

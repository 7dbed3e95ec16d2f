using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Core.Catalog;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Gallery names in any script reach file names as themselves (lowercased), and every command that finds backups by
/// name (list, prune, restore --at, the offsite copy and its listing) finds them.
/// </summary>
public sealed class ScriptTagTests
{
    [Fact]
    public async Task Backups_tagged_in_Cyrillic_Greek_and_Japanese_are_named_listed_pruned_restored_and_copied_to_a_folder_and_S3()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        await using var s3 = await S3Server.StartAsync(ct);
        var offsite = sandbox.Combine("offsite");
        Directory.CreateDirectory(offsite);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        config["jobs"]!["gallery"] = new JsonObject
        {
            ["type"] = "snapshot",
            ["folder"] = "event-triggered",
            ["fileName"] = "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
            ["keepDays"] = 90,
            ["keepAtLeast"] = 1,
        };
        config["offsite"] = new JsonObject
        {
            ["usb"] = new JsonObject { ["type"] = "local", ["path"] = offsite },
            ["spaces"] = new JsonObject
            {
                ["bucket"] = S3Server.Bucket,
                ["endpoint"] = s3.Endpoint.AbsoluteUri,
                ["forcePathStyle"] = true,
                ["credentialsFile"] = s3.CredentialsFile,
            },
        };
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        var made = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tag, slug) in new[] { ("Лето 2026", "лето-2026"), ("Καλοκαίρι", "καλοκαίρι"), ("夏", "夏") })
        {
            var run = await sandbox.CellarAsync("run", "gallery", "--tag", tag);
            Assert.True(run.ExitCode == 0, run.ToString());
            var path = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            Assert.StartsWith($"gallery-added-{slug}-", Path.GetFileName(path), StringComparison.Ordinal);
            Assert.Equal(tag, Sidecar.TryRead(path)!.Tag);
            made[slug] = path;
            await Task.Delay(1100, ct); // one name per second
        }

        // A summer gallery's backup from 200 days ago: past keepDays, so prune must find it by its name and delete it.
        var newest = made["夏"];
        var created = TimeProvider.System.GetUtcNow().AddDays(-200);
        var old = Path.Combine(Path.GetDirectoryName(newest)!, $"gallery-added-лето-2026-{created.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.sqlite.gz");
        File.Copy(made["лето-2026"], old);
        var sidecar = JsonNode.Parse(await File.ReadAllTextAsync(made["лето-2026"] + Sidecar.Suffix, ct))!;
        sidecar["created"] = created;
        await File.WriteAllTextAsync(old + Sidecar.Suffix, sidecar.ToJsonString(), ct);

        var listed = await sandbox.ListedBackupsAsync();
        var prune = await sandbox.CellarAsync("prune", "gallery");
        var target = sandbox.Combine("restored.sqlite");
        var restore = await sandbox.CellarAsync("restore", "--at", TimeProvider.System.GetUtcNow().AddMinutes(1).ToString("yyyy-MM-ddTHH:mm:ssK", CultureInfo.InvariantCulture), "--to", target);
        var sync = await sandbox.CellarAsync("sync");
        var remotes = new[] { await sandbox.CellarAsync("list", "--from", "usb", "--json"), await sandbox.CellarAsync("list", "--from", "spaces", "--json") };

        Assert.Equal(made.Values.Append(old).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.False(File.Exists(old), $"prune kept the 200-day-old {old}: {prune}");
        Assert.All(made.Values, path => Assert.True(File.Exists(path), path));
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains(Path.GetFileName(newest), restore.Stdout + restore.Stderr, StringComparison.Ordinal);
        CliSandbox.AssertHoldsBackup(target, newest);
        Assert.True(sync.ExitCode == 0, sync.ToString());
        foreach (var remote in remotes)
        {
            Assert.True(remote.ExitCode == 0, remote.ToString());
            var keys = JsonDocument.Parse(remote.Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("key").GetString()!).ToList();
            Assert.All(made.Values, path => Assert.Contains(keys, k => k.EndsWith("/" + Path.GetFileName(path), StringComparison.Ordinal)));
        }
    }
}

using System.Text.Json.Nodes;
using Cellar.Core.Catalog;
using Cellar.Tests.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>cellar verify</c> and <c>cellar restore</c> treat a stored file as what its sidecar says it is: its kind decides
/// the proof and the way back, and its recorded compression (not its name) how it is read.
/// </summary>
[Collection(LogJobs.Collection)]
public sealed class ArtifactKindTests
{
    private const long DatabaseBytes = 1 << 20;

    [Fact]
    public async Task A_log_archive_is_refused_by_restore_with_how_to_read_it_and_nothing_is_touched()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var archive = await ArchiveAsync(sandbox);
        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", archive, "--to", sandbox.Database, "--force");

        CliSandbox.AssertOneLineError(run, 2, $"{archive} is a log archive (read it with zcat), not a database snapshot");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_log_archive_given_tables_to_restore_is_refused_as_a_log_archive()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var archive = await ArchiveAsync(sandbox);
        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", archive, "--to", sandbox.Database, "--tables", "comments");

        CliSandbox.AssertOneLineError(run, 2, $"--tables and --no-safety-copy apply to table dumps; {archive} is a log archive");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
    }

    [Theory]
    [InlineData("daily", "gzip")]
    [InlineData("daily", "zstd")]
    [InlineData("social", "zstd")]
    public async Task A_backup_renamed_without_its_extension_verifies_and_restores_by_the_compression_its_sidecar_records(string job, string compression)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, compression, withSocial: true);
        var backup = await sandbox.BackupAsync(job);
        var renamed = sandbox.Combine("copied-backup");
        File.Copy(backup, renamed);
        File.Copy(Sidecar.PathFor(backup), Sidecar.PathFor(renamed));

        var verify = await sandbox.CellarAsync("verify", renamed);
        var restore = await sandbox.CellarAsync("restore", renamed, "--to", sandbox.Database, job == "daily" ? "--force" : "--no-safety-copy");

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(sandbox.Database, restore.Stdout.Trim());
    }

    [Fact]
    public async Task A_sidecar_naming_a_kind_this_version_does_not_know_fails_verification_saying_so()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        var sidecar = JsonNode.Parse(await File.ReadAllTextAsync(Sidecar.PathFor(backup), TestContext.Current.CancellationToken))!;
        sidecar["kind"] = "segment";
        File.Delete(Sidecar.PathFor(backup));
        await File.WriteAllTextAsync(Sidecar.PathFor(backup), sidecar.ToJsonString(), TestContext.Current.CancellationToken);

        var verify = await sandbox.CellarAsync("verify", backup);

        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("its sidecar says it is a 'segment', which this version of Cellar does not know", verify.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Adds a rotate job <c>logs</c> to the sandbox's config, gives it a log and runs it; returns the archive.</summary>
    private static async Task<string> ArchiveAsync(CliSandbox sandbox)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = sandbox.Combine("backend.log");
        await File.WriteAllTextAsync(log, string.Concat(Enumerable.Range(0, 1000).Select(i => $"line {i}\n")), ct);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        config["jobs"]!["logs"] = new JsonObject { ["type"] = "rotate", ["folder"] = "logs-archive", ["path"] = log };
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        var run = await sandbox.CellarAsync("run", "logs");

        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout.Trim();
    }
}

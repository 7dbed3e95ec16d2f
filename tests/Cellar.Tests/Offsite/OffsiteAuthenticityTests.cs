using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Core.Configuration;
using Cellar.Core.Storage;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>
/// What someone who can write to the bucket (but has no key) can do to offsite copies, done as they would do it:
/// objects written, deleted and put back straight in the bucket. Whenever a key exists, Cellar restores only what it
/// sealed, says what it skipped and why, and notices deleted, replayed and rolled-back copies.
/// </summary>
/// <remarks>Over 300 lines on purpose: one test per thing a bucket writer can do, sharing the bucket and key setup.</remarks>
public sealed class OffsiteAuthenticityTests
{
    private const string Manifest = "portfolio/manifest.cellar";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_key_only_in_the_environment_copies_are_still_sealed_and_a_planted_plain_copy_is_never_restored()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        var local = await BackupWithKeyAsync(sandbox);
        var key = $"portfolio/daily/{Path.GetFileName(local)}";
        using var store = sandbox.Store();

        // No "encrypt": true, so the copy stays a plain gzip, but its sidecar is sealed all the same.
        var genuine = await ReadAsync(store, key);
        Assert.Equal([0x1f, 0x8b], genuine[..2]);
        var sidecar = await ReadAsync(store, key + ".json");
        Assert.Equal("cellar-sidecar-v2", JsonNode.Parse(sidecar)!["format"]!.GetValue<string>());

        // The attacker takes the plain copy, makes themselves an admin, and plants it as the newest backup with a
        // sidecar of their own that matches it in every field.
        var planted = "portfolio/daily/portfolio-2099-01-01.sqlite.gz";
        var forged = await WithSqlAsync(sandbox, Gunzip(genuine), "UPDATE users SET username = 'attacker-admin' WHERE id = 1");
        await PutAsync(store, planted, Gzip(forged));
        await PutAsync(store, planted + ".json", PlainSidecar(local, Gzip(forged), created: "2099-01-01T00:00:00+00:00"));

        var folder = Directory.CreateDirectory(sandbox.Cli.Combine("restored")).FullName;
        var latest = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", "--latest", "daily", "--to", Path.Combine(folder, "latest.sqlite")]);
        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.Contains(latest.StderrLines, l => l.StartsWith("cellar: warning: skipped", StringComparison.Ordinal) && l.Contains(planted, StringComparison.Ordinal) && l.Contains("unsealed", StringComparison.Ordinal));
        Assert.Contains($"downloading s3://cellar/cellar/{key}", latest.Stderr, StringComparison.Ordinal);
        Assert.Equal(0L, AttackerAdmins(Path.Combine(folder, "latest.sqlite")));

        var named = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", planted, "--to", Path.Combine(folder, "named.sqlite")]);
        AssertFailed(named, "unsealed");
        Assert.False(File.Exists(Path.Combine(folder, "named.sqlite")));

        // Only on an explicit flag, and loudly.
        var accepted = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", planted, "--accept-unsealed", "--to", Path.Combine(folder, "accepted.sqlite")]);
        Assert.True(accepted.ExitCode == 0, accepted.ToString());
        Assert.Contains("is NOT sealed", accepted.Stderr, StringComparison.Ordinal);
        Assert.Equal(1L, AttackerAdmins(Path.Combine(folder, "accepted.sqlite")));
    }

    [Fact]
    public async Task A_planted_table_dump_never_reaches_the_live_database()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, withSocial: true, keyInEnvironment: true);
        var local = await BackupWithKeyAsync(sandbox, "social");
        using var store = sandbox.Store();

        // A genuine dump with a trigger of the attacker's added: restored, it would empty users on the next comment.
        var sql = Encoding.UTF8.GetString(Gunzip(await ReadAsync(store, $"portfolio/social/{Path.GetFileName(local)}")));
        var evil = sql[..sql.LastIndexOf("COMMIT;", StringComparison.Ordinal)] + "CREATE TRIGGER evil AFTER INSERT ON comments BEGIN DELETE FROM users; END;\nCOMMIT;\n";
        var planted = "portfolio/social/social-tables-2099-01-01.sql.gz";
        var plantedBytes = Gzip(Encoding.UTF8.GetBytes(evil));
        await PutAsync(store, planted, plantedBytes);
        var plantedSidecar = JsonNode.Parse(PlainSidecar(local, plantedBytes, created: "2099-01-01T00:00:00+00:00"))!;
        plantedSidecar["sourceBytes"] = Encoding.UTF8.GetByteCount(evil);
        await PutAsync(store, planted + ".json", Encoding.UTF8.GetBytes(plantedSidecar.ToJsonString()));

        AssertFailed(await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", planted, "--to", sandbox.Cli.Database]), "unsealed");
        var latest = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", "--latest", "social", "--to", sandbox.Cli.Database]);
        Assert.True(latest.ExitCode == 0, latest.ToString());

        using var live = CliSandbox.Open(sandbox.Cli.Database);
        Assert.Equal(0L, CliSandbox.Scalar(live, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'evil'"));
    }

    [Fact]
    public async Task A_sidecar_shows_only_its_format_and_key_id_and_any_change_or_move_fails_the_restore()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var (firstKey, secondKey) = await TwoCopiesAsync(sandbox);
        using var store = sandbox.Store();

        // Table names, row counts, the source path and the plain SHA-256 stay with the key's holder.
        var sealedSidecar = await ReadAsync(store, SidecarOf(firstKey));
        var fields = JsonNode.Parse(sealedSidecar)!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);
        Assert.Equal(["format", "keyId", "salt", "sealed"], fields);
        Assert.DoesNotContain("comments", Encoding.UTF8.GetString(sealedSidecar), StringComparison.Ordinal);

        var folder = Directory.CreateDirectory(sandbox.Cli.Combine("restored")).FullName;
        var target = Path.Combine(folder, "portfolio.sqlite");

        // One character of the sealed part changed: the sidecar no longer opens.
        var edited = JsonNode.Parse(sealedSidecar)!;
        var sealedText = edited["sealed"]!.GetValue<string>();
        edited["sealed"] = sealedText[..10] + (sealedText[10] == 'A' ? 'B' : 'A') + sealedText[11..];
        await PutAsync(store, SidecarOf(firstKey), Encoding.UTF8.GetBytes(edited.ToJsonString()));
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", firstKey, "--to", target), "does not open");

        // The other copy's genuine sidecar moved beside this copy: sealed for another name, so it does not open.
        await PutAsync(store, SidecarOf(firstKey), await ReadAsync(store, SidecarOf(secondKey)));
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", firstKey, "--to", target), "does not open");
        Assert.Empty(Directory.GetFileSystemEntries(folder));

        await PutAsync(store, SidecarOf(firstKey), sealedSidecar);
        var intact = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", firstKey, "--to", target);
        Assert.True(intact.ExitCode == 0, intact.ToString());
    }

    [Fact]
    public async Task Deleting_the_newest_copy_makes_latest_refuse_naming_it_and_the_older_copy_restores_only_by_name()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var (firstKey, secondKey) = await TwoCopiesAsync(sandbox);
        using var store = sandbox.Store();

        await store.DeleteAsync(secondKey, Ct);
        await store.DeleteAsync(SidecarOf(secondKey), Ct);

        var folder = Directory.CreateDirectory(sandbox.Cli.Combine("restored")).FullName;
        var latest = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", Path.Combine(folder, "latest.sqlite"));
        AssertFailed(latest, secondKey);
        Assert.Contains("missing", latest.StderrLines[^1], StringComparison.Ordinal);
        Assert.Contains($"cellar restore --from spaces {firstKey}", latest.StderrLines[^1], StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(folder));

        var named = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", firstKey, "--to", Path.Combine(folder, "named.sqlite"));
        Assert.True(named.ExitCode == 0, named.ToString());
        Assert.DoesNotContain("warning", named.Stderr, StringComparison.Ordinal);

        var listed = await ListFromAsync(sandbox.Cli.CellarAsync("list", "--from", "spaces", "--json"));
        Assert.Equal("missing", listed[secondKey]["manifest"]!.GetValue<string>());
        Assert.Equal("listed", listed[firstKey]["manifest"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_manifest_put_back_from_before_is_found_rolled_back_by_the_machine_that_wrote_it()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        await sandbox.Cli.BackupAsync();
        using var store = sandbox.Store();
        var before = await ReadAsync(store, Manifest);
        await Task.Delay(1100, Ct);
        var second = await sandbox.Cli.BackupAsync();
        var secondKey = $"portfolio/daily/{Path.GetFileName(second)}.enc";

        // The older manifest is genuine and does not list the second copy, so deleting that copy and putting the
        // older manifest back would make the first copy look like the newest.
        await store.DeleteAsync(secondKey, Ct);
        await store.DeleteAsync(SidecarOf(secondKey), Ct);
        await PutAsync(store, Manifest, before);

        var target = sandbox.Cli.Combine("restored.sqlite");
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", target), "rolled back");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task A_copy_pruned_and_put_back_is_named_as_not_listed()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, d => d["keepDays"] = new JsonObject { ["daily"] = 1 });
        var backups = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            backups.Add(await sandbox.Cli.BackupAsync());
            await Task.Delay(1100, Ct);
        }

        var oldest = $"portfolio/daily/{Path.GetFileName(backups[0])}.enc";
        using var store = sandbox.Store();
        var copy = await ReadAsync(store, oldest);
        var sidecar = await ReadAsync(store, SidecarOf(oldest));

        // Two days on the destination keeps its newest three (keepAtLeast); the oldest is pruned there.
        var config = ConfigLoader.Load(sandbox.Cli.ConfigPath);
        var later = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddDays(2));
        var reports = await new Core.Offsite.OffsiteSync(config, later, NullLogger.Instance).RunAsync(null, null, repair: false, Ct);
        Assert.Equal([oldest], reports.Single().Deleted);

        await PutAsync(store, oldest, copy);
        await PutAsync(store, SidecarOf(oldest), sidecar);

        var listed = await ListFromAsync(sandbox.Cli.CellarAsync("list", "--from", "spaces", "--json"));
        Assert.Equal("not listed", listed[oldest]["manifest"]!.GetValue<string>());
        var named = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", oldest, "--to", sandbox.Cli.Combine("restored.sqlite"));
        Assert.True(named.ExitCode == 0, named.ToString());
        Assert.Contains(named.StderrLines, l => l.StartsWith("cellar: warning: ", StringComparison.Ordinal) && l.Contains("not listed in the manifest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_newest_copy_older_than_its_schedule_implies_is_warned_about()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        await sandbox.Cli.BackupAsync();

        // The job now runs every second, so two runs are due within the next two seconds and no copy comes of them:
        // as if the newer copies had been deleted, or had stopped arriving.
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.Cli.ConfigPath, Ct))!;
        config["jobs"]!["daily"]!["schedule"] = "* * * * * *";
        await File.WriteAllTextAsync(sandbox.Cli.ConfigPath, config.ToJsonString(), Ct);
        await Task.Delay(2500, Ct);

        var restore = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", sandbox.Cli.Combine("restored.sqlite"));
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains(restore.StderrLines, l => l.StartsWith("cellar: warning: the newest copy of daily", StringComparison.Ordinal) && l.Contains("due at least twice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Listing_a_destination_shows_creation_times_and_the_manifest_only_with_the_key()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        var local = await BackupWithKeyAsync(sandbox);
        var key = $"portfolio/daily/{Path.GetFileName(local)}";

        var withKey = await ListFromAsync(sandbox.CellarWithKeyAsync(["list", "--from", "spaces", "--json"]));
        Assert.Equal("listed", withKey[key]["manifest"]!.GetValue<string>());
        Assert.Equal(
            JsonNode.Parse(await File.ReadAllTextAsync(local + ".json", Ct))!["created"]!.GetValue<DateTimeOffset>(),
            withKey[key]["created"]!.GetValue<DateTimeOffset>());

        var withoutKey = await sandbox.Cli.CellarAsync("list", "--from", "spaces", "--json");
        var item = (await ListFromAsync(Task.FromResult(withoutKey)))[key];
        Assert.Null(item["created"]);
        Assert.Null(item["manifest"]);
        Assert.True(item["hasSidecar"]!.GetValue<bool>());
        var table = await sandbox.Cli.CellarAsync("list", "--from", "spaces");
        Assert.Contains("no key is configured", table.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lost_ledger_is_rebuilt_from_the_manifest_and_its_counter_goes_on()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        await sandbox.Cli.BackupAsync();
        var ledgerPath = Path.Combine(sandbox.Cli.BackupRoot, ".cellar-offsite", "portfolio.spaces.json");
        var before = JsonNode.Parse(await File.ReadAllTextAsync(ledgerPath, Ct))!;
        File.Delete(ledgerPath);

        // Nothing goes up again: the manifest says what the destination holds, and a later manifest outnumbers it.
        var sync = await sandbox.Cli.CellarAsync("sync");
        Assert.True(sync.ExitCode == 0, sync.ToString());
        Assert.Contains("0 uploaded", sync.Stderr, StringComparison.Ordinal);
        var after = JsonNode.Parse(await File.ReadAllTextAsync(ledgerPath, Ct))!;
        Assert.Equal(before["entries"]!.ToJsonString(), after["entries"]!.ToJsonString());
        Assert.Equal(before["manifest"]!["counter"]!.GetValue<long>() + 1, after["manifest"]!["counter"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_sync_without_the_key_refuses_a_destination_whose_copies_are_sealed()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        await BackupWithKeyAsync(sandbox);
        await Task.Delay(1100, Ct);

        // A shell without CELLAR_ENCRYPTION_KEY: the backup is made, but no unsealed copy goes up beside sealed ones.
        var run = await sandbox.Cli.CellarAsync("run", "daily");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no key is configured", run.Stderr, StringComparison.Ordinal);
        using var store = sandbox.Store();
        var objects = new List<string>();
        await foreach (var o in store.ListAsync("", Ct))
        {
            objects.Add(o.Key);
        }

        Assert.Equal(3, objects.Count);
    }

    [Fact]
    public async Task A_backup_goes_offsite_in_five_requests_with_its_sealed_manifest()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var config = await File.ReadAllTextAsync(sandbox.Cli.ConfigPath, Ct);
        var local = JsonNode.Parse(config)!.AsObject();
        local.Remove("offsite");

        async Task<long> BackupThenSyncAsync()
        {
            await File.WriteAllTextAsync(sandbox.Cli.ConfigPath, local.ToJsonString(), Ct);
            await sandbox.Cli.BackupAsync();
            await File.WriteAllTextAsync(sandbox.Cli.ConfigPath, config, Ct);
            S3ObjectStore? counted = null;
            var sync = new Core.Offsite.OffsiteSync(ConfigLoader.Load(sandbox.Cli.ConfigPath), TimeProvider.System, NullLogger.Instance, d => counted = new S3ObjectStore(d.S3!));
            var report = (await sync.RunAsync(null, null, repair: false, Ct)).Single();
            Assert.True(report.Error is null, report.Error);
            Assert.Single(report.Uploaded);
            return counted!.Requests;
        }

        // The first pass also reads the manifest a lost or new ledger would continue from (one GET, once).
        Assert.Equal(6, await BackupThenSyncAsync());
        await Task.Delay(1100, Ct);

        // PUT the backup, PUT its sidecar, HEAD both, PUT the manifest.
        Assert.Equal(5, await BackupThenSyncAsync());
    }

    [Fact]
    public async Task After_a_key_rotation_copies_made_with_the_previous_key_still_restore()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var before = $"portfolio/daily/{Path.GetFileName(await sandbox.Cli.BackupAsync())}.enc";
        var oldKeyId = KeyId(await File.ReadAllBytesAsync(sandbox.KeyFile, Ct));
        await Task.Delay(1100, Ct);

        // The new key writes; the old one is kept for reading.
        var newKey = sandbox.Cli.Combine("new.key");
        OffsiteSandbox.WriteKey(newKey);
        sandbox.Configure(keyFile: newKey);
        SetPreviousKeys(sandbox, sandbox.KeyFile);
        var after = $"portfolio/daily/{Path.GetFileName(await sandbox.Cli.BackupAsync())}.enc";

        var latest = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", sandbox.Cli.Combine("latest.sqlite"));
        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.Contains(after, latest.Stderr, StringComparison.Ordinal);
        var old = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", before, "--to", sandbox.Cli.Combine("old.sqlite"));
        Assert.True(old.ExitCode == 0, old.ToString());

        // Without the old key, its copies are named with the key they need; from the environment, they restore.
        SetPreviousKeys(sandbox);
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", before, "--to", sandbox.Cli.Combine("without.sqlite")), $"encrypted with key {oldKeyId}");
        var fromEnvironment = await CellarProcess.RunAsync(
            ["--config", sandbox.Cli.ConfigPath, "restore", "--from", "spaces", before, "--to", sandbox.Cli.Combine("environment.sqlite")], Ct,
            new Dictionary<string, string> { ["CELLAR_PREVIOUS_ENCRYPTION_KEYS"] = sandbox.KeyHex });
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());
    }

    [Fact]
    public async Task A_copy_sealed_by_the_previous_version_restores_with_a_warning_until_repair_seals_it_whole()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        using var store = sandbox.Store();
        await MakeAsThePreviousVersionDidAsync(sandbox, store, key, local);
        var legacy = await ReadAsync(store, SidecarOf(key));

        var restore = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", sandbox.Cli.Combine("legacy.sqlite"));
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains("seal of an older Cellar", restore.Stderr, StringComparison.Ordinal);

        // The old seal does not cover the kind: a snapshot relabelled as a dump is refused, not fed to the SQL loader.
        var relabelled = JsonNode.Parse(legacy)!;
        relabelled["kind"] = "dump";
        await PutAsync(store, SidecarOf(key), Encoding.UTF8.GetBytes(relabelled.ToJsonString()));
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", sandbox.Cli.Combine("dump.sqlite")), "contradicts");
        await PutAsync(store, SidecarOf(key), legacy);

        var repair = await sandbox.Cli.CellarAsync("sync", "--repair");
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.Contains("1 re-sealed", repair.Stderr, StringComparison.Ordinal);
        Assert.Contains("0 uploaded", repair.Stderr, StringComparison.Ordinal);
        Assert.Equal("cellar-sidecar-v2", JsonNode.Parse(await ReadAsync(store, SidecarOf(key)))!["format"]!.GetValue<string>());
        var resealed = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", sandbox.Cli.Combine("resealed.sqlite"));
        Assert.True(resealed.ExitCode == 0, resealed.ToString());
        Assert.DoesNotContain("warning", resealed.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copies_made_before_there_was_a_key_are_refused_until_repair_seals_them()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        var local = await sandbox.Cli.BackupAsync();
        var target = sandbox.Cli.Combine("restored.sqlite");

        var refused = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", "--latest", "daily", "--to", target]);
        AssertFailed(refused, "1 skipped");
        Assert.Contains(refused.StderrLines, l => l.Contains(Path.GetFileName(local), StringComparison.Ordinal) && l.Contains("unsealed", StringComparison.Ordinal));

        var repair = await sandbox.CellarWithKeyAsync(["sync", "--repair"]);
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.Contains("1 re-sealed", repair.Stderr, StringComparison.Ordinal);
        var restore = await sandbox.CellarWithKeyAsync(["restore", "--from", "spaces", "--latest", "daily", "--to", target]);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.DoesNotContain("warning", restore.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gone")]
    [InlineData("replaced")]
    [InlineData("moved")]
    public async Task Repair_seals_no_copy_whose_local_backup_is_gone_replaced_by_another_or_moved(string change)
    {
        // Copied before there was a key, so unsealed; repair vouches for a copy only by the very backup it was made from.
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        var local = await sandbox.Cli.BackupAsync();
        if (change == "gone")
        {
            File.Delete(local);
            File.Delete(local + ".json");
        }
        else
        {
            using (var app = CliSandbox.Open(sandbox.Cli.Database, readOnly: false))
            {
                CliSandbox.Scalar(app, "CREATE TABLE later(x)");
            }

            var other = await sandbox.Cli.BackupAsync();
            var (from, to) = change == "replaced" ? (other, local) : (local, other);
            File.Move(from, to, overwrite: true);
            File.Move(from + ".json", to + ".json", overwrite: true);
        }

        var repair = await sandbox.CellarWithKeyAsync(["sync", "--repair"]);
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.DoesNotContain("re-sealed", repair.Stderr, StringComparison.Ordinal);
        Assert.Contains("left with an old seal or none (local backup gone)", repair.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sealed_sidecars_and_manifests_open_with_an_independent_reader_written_from_the_format_doc()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        using var store = sandbox.Store();
        var master = await File.ReadAllBytesAsync(sandbox.KeyFile, Ct);

        var sealedSidecar = await ReadAsync(store, SidecarOf(key));
        var sidecar = JsonNode.Parse(Open(master, sealedSidecar, "cellar-sidecar-v2", key))!;
        Assert.Equal(JsonNode.Parse(await File.ReadAllTextAsync(local + ".json", Ct))!["sha256"]!.GetValue<string>(), sidecar["sha256"]!.GetValue<string>());
        var encrypted = await ReadAsync(store, key);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(encrypted)), sidecar["encryption"]!["sha256"]!.GetValue<string>());
        Assert.Equal(KeyId(master), sidecar["encryption"]!["keyId"]!.GetValue<string>());

        var manifest = JsonNode.Parse(Open(master, await ReadAsync(store, Manifest), "cellar-manifest-v1", Manifest))!;
        Assert.Equal(1, manifest["counter"]!.GetValue<long>());
        Assert.Equal([key], manifest["copies"]!.AsArray().Select(c => c!["key"]!.GetValue<string>()));

        // Sealed for its own name only.
        Assert.ThrowsAny<CryptographicException>(() => Open(master, sealedSidecar, "cellar-sidecar-v2", "portfolio/daily/other.sqlite.gz.enc"));
    }

    /// <summary>docs/encryption-format.md, "Sealed documents", step by step.</summary>
    private static byte[] Open(byte[] master, byte[] document, string format, string storedAs)
    {
        var json = JsonNode.Parse(document)!;
        Assert.Equal(format, json["format"]!.GetValue<string>());
        Assert.Equal(KeyId(master), json["keyId"]!.GetValue<string>());
        var documentKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, Convert.FromHexString(json["salt"]!.GetValue<string>()), Encoding.UTF8.GetBytes(format));
        var sealedBytes = Convert.FromBase64String(json["sealed"]!.GetValue<string>());
        var plaintext = new byte[sealedBytes.Length - 16];
        using var gcm = new AesGcm(documentKey, 16);
        gcm.Decrypt(new byte[12], sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), plaintext, Encoding.UTF8.GetBytes(storedAs));
        return plaintext;
    }

    /// <summary>
    /// Puts a copy in the state the previous version left it: a plain JSON sidecar whose seal is the HMAC over eight
    /// fields that docs/encryption-format.md described, a ledger without manifest or "sealed" marks, no manifest.
    /// </summary>
    private static async Task MakeAsThePreviousVersionDidAsync(OffsiteSandbox sandbox, S3ObjectStore store, string key, string local)
    {
        var encrypted = await ReadAsync(store, key);
        var sidecar = JsonNode.Parse(await File.ReadAllTextAsync(local + ".json", Ct))!;
        var master = await File.ReadAllBytesAsync(sandbox.KeyFile, Ct);
        var encryptedSha = Convert.ToHexStringLower(SHA256.HashData(encrypted));
        var sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, [], "cellar-enc-v1 sidecar seal"u8.ToArray());
        var created = sidecar["created"]!.GetValue<DateTimeOffset>().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        var sealedText = string.Join('\n', key, "portfolio", "daily", created, sidecar["sizeBytes"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture),
            sidecar["sha256"]!.GetValue<string>(), encrypted.Length.ToString(CultureInfo.InvariantCulture), encryptedSha);
        sidecar["encryption"] = new JsonObject
        {
            ["format"] = "cellar-enc-v1",
            ["keyId"] = KeyId(master),
            ["sizeBytes"] = encrypted.Length,
            ["sha256"] = encryptedSha,
            ["seal"] = Convert.ToHexStringLower(HMACSHA256.HashData(sealKey, Encoding.UTF8.GetBytes(sealedText))),
        };
        await PutAsync(store, SidecarOf(key), Encoding.UTF8.GetBytes(sidecar.ToJsonString()));
        await store.DeleteAsync(Manifest, Ct);

        var ledgerPath = Path.Combine(sandbox.Cli.BackupRoot, ".cellar-offsite", "portfolio.spaces.json");
        var ledger = JsonNode.Parse(await File.ReadAllTextAsync(ledgerPath, Ct))!.AsObject();
        ledger.Remove("manifest");
        foreach (var entry in ledger["entries"]!.AsArray())
        {
            entry!.AsObject().Remove("sealed");
        }

        await File.WriteAllTextAsync(ledgerPath, ledger.ToJsonString(), Ct);
    }

    /// <summary>Two daily backups a second apart, each copied offsite; their object keys, older first.</summary>
    private static async Task<(string First, string Second)> TwoCopiesAsync(OffsiteSandbox sandbox)
    {
        var first = await sandbox.Cli.BackupAsync();
        await Task.Delay(1100, Ct);
        var second = await sandbox.Cli.BackupAsync();
        return ($"portfolio/daily/{Path.GetFileName(first)}.enc", $"portfolio/daily/{Path.GetFileName(second)}.enc");
    }

    private static async Task<string> BackupWithKeyAsync(OffsiteSandbox sandbox, string job = "daily")
    {
        var run = await sandbox.CellarWithKeyAsync(["run", job]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout.Trim().Split('\n')[^1];
    }

    private static void SetPreviousKeys(OffsiteSandbox sandbox, params string[] files)
    {
        var config = JsonNode.Parse(File.ReadAllText(sandbox.Cli.ConfigPath))!.AsObject();
        config.Remove("previousEncryptionKeyFiles");
        if (files.Length > 0)
        {
            config["previousEncryptionKeyFiles"] = new JsonArray([.. files.Select(f => (JsonNode)f)]);
        }

        File.WriteAllText(sandbox.Cli.ConfigPath, config.ToJsonString());
    }

    /// <summary>The key id as docs/encryption-format.md defines it.</summary>
    private static string KeyId(byte[] master) => Convert.ToHexStringLower(HMACSHA256.HashData(master, "cellar-enc-v1 key id"u8.ToArray())[..8]);

    /// <summary>A plain sidecar for <paramref name="bytes"/>, made from a genuine local one as an attacker would write it.</summary>
    private static byte[] PlainSidecar(string local, byte[] bytes, string created)
    {
        var sidecar = JsonNode.Parse(File.ReadAllText(local + ".json"))!;
        sidecar["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        sidecar["sizeBytes"] = bytes.Length;
        sidecar["created"] = created;
        return Encoding.UTF8.GetBytes(sidecar.ToJsonString());
    }

    /// <summary>Runs <paramref name="sql"/> on a copy of the database <paramref name="database"/> holds and returns the copy.</summary>
    private static async Task<byte[]> WithSqlAsync(OffsiteSandbox sandbox, byte[] database, string sql)
    {
        var path = sandbox.Cli.Combine($"attacker-{Guid.NewGuid():N}.sqlite");
        await File.WriteAllBytesAsync(path, database, Ct);
        using (var connection = CliSandbox.Open(path, readOnly: false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        return await File.ReadAllBytesAsync(path, Ct);
    }

    private static long AttackerAdmins(string database)
    {
        using var connection = CliSandbox.Open(database);
        return (long)CliSandbox.Scalar(connection, "SELECT count(*) FROM users WHERE username = 'attacker-admin'")!;
    }

    private static string SidecarOf(string key) => (key.EndsWith(".enc", StringComparison.Ordinal) ? key[..^4] : key) + ".json";

    private static async Task<Dictionary<string, JsonNode>> ListFromAsync(Task<CellarRun> listing)
    {
        var list = await listing;
        Assert.True(list.ExitCode == 0, list.ToString());
        return JsonNode.Parse(list.Stdout)!.AsArray().ToDictionary(e => e!["key"]!.GetValue<string>(), e => e!);
    }

    /// <summary>Exit 1 and the error as the last stderr line.</summary>
    private static void AssertFailed(CellarRun run, string mention)
    {
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.StartsWith("cellar: ", run.StderrLines[^1], StringComparison.Ordinal);
        Assert.Contains(mention, run.StderrLines[^1], StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(run.Stderr);
    }

    private static async Task<byte[]> ReadAsync(IObjectStore store, string key)
    {
        await using var stream = await store.GetAsync(key, Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    private static Task PutAsync(IObjectStore store, string key, byte[] bytes) => store.PutAsync(key, new MemoryStream(bytes), bytes.Length, Ct);

    private static byte[] Gunzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return compressed.ToArray();
    }
}

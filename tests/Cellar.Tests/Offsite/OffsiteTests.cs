using System.Text.Json;
using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Retention;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>The offsite copy end to end: up, listed, down and verified, against a real S3 server on loopback.</summary>
/// <remarks>Over 300 lines on purpose: one test per promise of the copy, each on its own <c>OffsiteSandbox</c>.</remarks>
public sealed class OffsiteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backup_goes_up_encrypted_and_restore_from_brings_it_back_verified()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(2 << 20);
        var local = await sandbox.Cli.BackupAsync();

        var list = await sandbox.Cli.CellarAsync("list", "--from", "spaces", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var listed = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Single();
        var key = listed.GetProperty("key").GetString()!;
        Assert.Equal($"portfolio/daily/{Path.GetFileName(local)}.enc", key);
        Assert.True(listed.GetProperty("hasSidecar").GetBoolean());

        // What the bucket holds is the encrypted format, not the backup.
        using var store = sandbox.Store();
        await using (var raw = await store.GetAsync(key, Ct))
        {
            var head = new byte[8];
            await raw.ReadExactlyAsync(head, Ct);
            Assert.Equal("CELLARE1"u8.ToArray(), head);
        }

        var target = sandbox.Cli.Combine("restored", "portfolio.sqlite");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var restore = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", target);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(await CountAsync(sandbox.Cli.Database, "comments"), await CountAsync(target, "comments"));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.GetDirectoryName(target)!), e => Path.GetFileName(e).StartsWith(".cellar-download", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_200_MB_database_goes_up_multipart_and_comes_back_byte_identical_decrypted_verified_and_restored()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(200L << 20, d => d.Remove("partSizeMiB"));
        var local = await sandbox.Cli.BackupAsync();
        var localBytes = new FileInfo(local).Length;
        Assert.True(localBytes > 2 * (16 << 20), $"the backup ({localBytes} bytes) must need several 16 MiB parts");

        // Byte-identical: the downloaded, decrypted file is the local backup, hash for hash.
        using var store = sandbox.Store();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        Assert.Equal(Core.Storage.Encryption.EncryptionFormat.EncryptedLength(localBytes), (await store.StatAsync(key, Ct))!.SizeBytes);
        var folder = sandbox.Cli.Combine("download");
        var keys = new Core.Storage.Encryption.KeyRing(Core.Storage.Encryption.EncryptionKey.FromFile(sandbox.KeyFile), []);
        var remote = new Core.Offsite.RemoteBackups(store, new OffsiteDestination("spaces") { Encrypt = true }, keys, _ => { });
        var downloaded = await remote.DownloadAsync(await remote.OpenAsync(key, Ct), folder, Ct);
        Assert.Equal(CliSandbox.HashOf(local), CliSandbox.HashOf(downloaded));

        var target = sandbox.Cli.Combine("restored.sqlite");
        var restore = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", target);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(await CountAsync(sandbox.Cli.Database, "comments"), await CountAsync(target, "comments"));
    }

    [Fact]
    public async Task A_backup_changed_in_place_while_it_is_uploaded_is_not_counted_as_offsite()
    {
        // The fault: between the check before the upload and the read during it, one byte of the backup changes (the
        // same size: only its hash tells).
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var config = ConfigLoader.Load(sandbox.Cli.ConfigPath);
        var job = config.FindJob("daily");
        var backup = Core.Catalog.BackupCatalog.List(job, config.TimeZone).Single(b => b.Path == local);
        using var store = new ChangingWhileSent(sandbox.Store(), () => CliSandbox.FlipByte(local, 100));
        var copier = new Core.Offsite.OffsiteCopier(store, config.Databases.Single().Offsite.Single(), Core.Offsite.OffsiteKey.Load(config), TimeProvider.System);

        var error = await Assert.ThrowsAsync<Core.CellarException>(() => copier.CopyAsync(job, backup, "again/" + Path.GetFileName(local), Ct));
        Assert.Equal($"{local} changed while it was uploaded to spaces; not counted as offsite (run `cellar verify`)", error.Message);
    }

    [Fact]
    public async Task A_ledger_file_that_holds_json_null_reads_as_a_ledger_with_no_copies()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        await sandbox.Cli.BackupAsync();
        var database = ConfigLoader.Load(sandbox.Cli.ConfigPath).Databases.Single();
        var path = Path.Combine(Core.Offsite.OffsiteLedger.FolderOf(database), $"{database.Name}.spaces.json");
        Assert.NotEmpty(Core.Offsite.OffsiteLedger.Load(database, database.Offsite.Single()).Entries);

        await File.WriteAllTextAsync(path, "null", Ct);
        Assert.Empty(Core.Offsite.OffsiteLedger.Load(database, database.Offsite.Single()).Entries);
    }

    [Fact]
    public async Task A_flipped_bit_in_an_unencrypted_copy_fails_the_restore_against_its_sidecar()
    {
        // No key anywhere: the copy goes up as the plain backup, so only its sidecar's size and SHA-256 can tell.
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, keyInEnvironment: true);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}";
        using var store = sandbox.Store();
        var bytes = await ReadAsync(store, key);
        bytes[bytes.Length / 2] ^= 0x10;
        await store.PutAsync(key, new MemoryStream(bytes), null, Ct);

        var target = sandbox.Cli.Combine("restored.sqlite");
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target), "the downloaded backup does not match its sidecar");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task An_object_encrypted_again_from_the_same_backup_is_not_the_copy_that_was_confirmed()
    {
        // Same key, same plaintext, a fresh salt: it decrypts to the right bytes, but it is not the object uploaded.
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        using var store = sandbox.Store();
        using (var again = new MemoryStream())
        {
            await using (var encrypting = new Core.Storage.Encryption.EncryptingStream(File.OpenRead(local), Core.Storage.Encryption.EncryptionKey.FromFile(sandbox.KeyFile)))
            {
                await encrypting.CopyToAsync(again, Ct);
            }

            Assert.NotEqual(await ReadAsync(store, key), again.ToArray());
            await store.PutAsync(key, new MemoryStream(again.ToArray()), null, Ct);
        }

        var target = sandbox.Cli.Combine("restored.sqlite");
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target), "the object does not match the size and SHA-256 recorded when it was uploaded");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task A_wrong_key_a_flipped_bit_and_a_truncated_object_each_fail_the_restore_and_create_nothing()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        using var store = sandbox.Store();
        var original = await ReadAsync(store, key);
        var folder = Directory.CreateDirectory(sandbox.Cli.Combine("restored")).FullName;
        var target = Path.Combine(folder, "portfolio.sqlite");

        var otherKey = sandbox.Cli.Combine("other.key");
        OffsiteSandbox.WriteKey(otherKey);
        sandbox.Configure(keyFile: otherKey);
        var wrongKey = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target);
        AssertFailed(wrongKey, "encrypted with key");
        Assert.Empty(Directory.GetFileSystemEntries(folder));
        sandbox.Configure();

        var flipped = original.ToArray();
        flipped[flipped.Length / 2] ^= 0x10;
        await store.PutAsync(key, new MemoryStream(flipped), null, Ct);
        var corrupted = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target);
        AssertFailed(corrupted, "authentication");
        Assert.Empty(Directory.GetFileSystemEntries(folder));

        await store.PutAsync(key, new MemoryStream(original[..(original.Length / 2)]), null, Ct);
        var truncated = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target);
        AssertFailed(truncated, "");
        Assert.Empty(Directory.GetFileSystemEntries(folder));

        await store.PutAsync(key, new MemoryStream(original), null, Ct);

        // A genuine object whose sidecar was edited (an older date, so that --latest or --at picks it): the seal fails.
        var sidecarKey = key[..^".enc".Length] + ".json";
        var sidecar = System.Text.Json.Nodes.JsonNode.Parse(await ReadAsync(store, sidecarKey))!;
        var genuine = sidecar.ToJsonString();
        sidecar["created"] = "2026-01-01T00:00:00+00:00";
        await store.PutAsync(sidecarKey, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(sidecar.ToJsonString())), null, Ct);
        var edited = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target);
        AssertFailed(edited, "seal");
        Assert.Empty(Directory.GetFileSystemEntries(folder));
        await store.PutAsync(sidecarKey, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(genuine)), null, Ct);

        // A plain "backup" planted beside the encrypted ones, dated later so that --latest would pick it: refused by
        // key, and never a candidate for --latest.
        var planted = "portfolio/daily/portfolio-2099-01-01.sqlite.gz";
        await store.PutAsync(planted, File.OpenRead(local), null, Ct);
        var plantedSidecar = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(local + ".json", Ct))!;
        plantedSidecar["created"] = "2099-01-01T00:00:00+00:00";
        await store.PutAsync(planted + ".json", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(plantedSidecar.ToJsonString())), null, Ct);
        AssertFailed(await sandbox.Cli.CellarAsync("restore", "--from", "spaces", planted, "--to", target), "plain copy");
        Assert.Empty(Directory.GetFileSystemEntries(folder));
        var latest = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", "--latest", "daily", "--to", Path.Combine(folder, "latest.sqlite"));
        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.Contains(key, latest.Stderr, StringComparison.Ordinal);

                // What a killed restore left (a plain copy of the database) is swept by the next one.
        var stale = Directory.CreateDirectory(Path.Combine(folder, ".cellar-download-0123456789abcdef")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(stale, "portfolio.sqlite.gz"), [1, 2, 3], Ct);
        var intact = await sandbox.Cli.CellarAsync("restore", "--from", "spaces", key, "--to", target);
        Assert.True(intact.ExitCode == 0, intact.ToString());
        Assert.False(Directory.Exists(stale));
    }

    [Fact]
    public async Task An_outage_during_the_upload_is_ridden_out_and_the_copy_is_confirmed_once()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(12 << 20);
        await using var proxy = await LyingS3Proxy.StartAsync(sandbox.Server, Ct);
        sandbox.Configure(d =>
        {
            d["endpoint"] = proxy.Endpoint.AbsoluteUri;
            d["retries"] = 8;
        });

        // The server fails the second part twice, as one restarting behind a load balancer does: two retries, each
        // after its backoff, then the part goes up.
        proxy.Tell(new S3Lie(S3Call.UploadPart, S3Fault.ServerError) { Skip = 1, Times = 2 });
        var result = await sandbox.Cli.CellarAsync("run", "daily");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("1 uploaded", result.Stderr, StringComparison.Ordinal);
        Assert.Equal([500, 500, 200], proxy.Exchanges.Where(e => e.Call == S3Call.UploadPart && e.Part == 2).Select(e => e.Status));
        Assert.Equal(1, proxy.Count(S3Call.CompleteMultipartUpload));
        var listed = await ListFromAsync(sandbox);
        Assert.Single(listed);

        // A second pass finds nothing missing and uploads nothing.
        var again = await sandbox.Cli.CellarAsync("sync", "--repair");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("0 uploaded", again.Stderr, StringComparison.Ordinal);
        Assert.Single(await ListFromAsync(sandbox));
    }

    [Fact]
    public async Task Local_retention_keeps_a_backup_until_its_offsite_copy_is_confirmed()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, d => d["keepDays"] = new System.Text.Json.Nodes.JsonObject { ["daily"] = 90 });
        await sandbox.Server.StopAsync();
        var backups = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var run = await sandbox.Cli.CellarAsync("run", "daily");
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("stays queued", run.Stderr, StringComparison.Ordinal);
            backups.Add(run.Stdout.Trim().Split('\n')[^1]);
            await Task.Delay(1100, Ct);
        }

        var config = ConfigLoader.Load(sandbox.Cli.ConfigPath);
        var job = config.FindJob("daily");
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddDays(40));
        var pruner = new Pruner(clock, OffsiteHold.Instance, NullLogger<Pruner>.Instance);

        // 40 days on, local keepDays (30) would drop the oldest; its offsite copy (kept 90 days) is not there yet.
        var held = pruner.Prune(job, config.TimeZone, dryRun: false);
        Assert.Empty(held.Deleted);
        Assert.All(backups, b => Assert.True(File.Exists(b)));

        await sandbox.Server.RestartAsync(Ct);
        var sync = await sandbox.Cli.CellarAsync("sync");
        Assert.True(sync.ExitCode == 0, sync.ToString());
        Assert.Contains("4 uploaded", sync.Stderr, StringComparison.Ordinal);

        var pruned = pruner.Prune(job, config.TimeZone, dryRun: false);
        Assert.Equal([backups[0]], pruned.Deleted.Select(d => d.Path));
        Assert.Equal(4, (await ListFromAsync(sandbox)).Count);
    }

    [Theory]
    [InlineData("keep")]
    [InlineData("none")]
    public async Task Each_destination_prunes_by_its_own_keepDays_or_never_and_repair_restores_a_lost_copy(string retention)
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20, d =>
        {
            d["retention"] = retention;
            d["keepDays"] = new System.Text.Json.Nodes.JsonObject { ["daily"] = 60 };
        });
        for (var i = 0; i < 4; i++)
        {
            await sandbox.Cli.BackupAsync();
            await Task.Delay(1100, Ct);
        }

        Assert.Equal(4, (await ListFromAsync(sandbox)).Count);

        // Someone deletes a copy in the bucket: repair notices (one HEAD per copy) and uploads it again.
        using var store = sandbox.Store();
        var lost = (await ListFromAsync(sandbox))[0];
        await store.DeleteAsync(lost, Ct);
        var repair = await sandbox.Cli.CellarAsync("sync", "--repair");
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.Contains("1 uploaded", repair.Stderr, StringComparison.Ordinal);
        Assert.Contains("1 missing or damaged", repair.Stderr, StringComparison.Ordinal);
        Assert.Contains(lost, await ListFromAsync(sandbox));

        // 61 days on: past the destination's 60 days, all four; keepAtLeast (3) keeps the newest three, unless
        // the destination leaves deletion to the bucket's lifecycle rules.
        var config = ConfigLoader.Load(sandbox.Cli.ConfigPath);
        var later = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddDays(61));
        var reports = await new Core.Offsite.OffsiteSync(config, later, NullLogger.Instance).RunAsync(null, null, repair: false, Ct);
        Assert.Null(reports.Single().Error);
        Assert.Equal(retention == "keep" ? 3 : 4, (await ListFromAsync(sandbox)).Count);
        Assert.Equal(retention == "keep" ? 1 : 0, reports.Single().Deleted.Count);
    }

    [Fact]
    public async Task A_local_backup_that_rotted_never_replaces_its_good_offsite_copy()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var local = await sandbox.Cli.BackupAsync();
        var key = $"portfolio/daily/{Path.GetFileName(local)}.enc";
        using var store = sandbox.Store();
        var good = await ReadAsync(store, key);

        // The ledger lost (moved away, a new disk) and the local file rotted at the same size: sync must refuse. The
        // manifest is gone too (else the ledger is rebuilt from it and nothing is uploaded at all).
        foreach (var ledger in Directory.GetFiles(Path.Combine(sandbox.Cli.BackupRoot, ".cellar-offsite"), "*.json"))
        {
            File.Delete(ledger);
        }

        await store.DeleteAsync(Core.Offsite.OffsiteManifest.KeyFor("portfolio"), Ct);

        var bytes = await File.ReadAllBytesAsync(local, Ct);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(local, bytes, Ct);
        var sync = await sandbox.Cli.CellarAsync("sync");

        Assert.Equal(1, sync.ExitCode);
        Assert.Contains("no longer matches the checksum", sync.Stderr, StringComparison.Ordinal);
        Assert.Equal(good, await ReadAsync(store, key));
    }

    [Fact]
    public async Task Two_databases_sharing_a_backup_root_and_a_destination_each_keep_their_copies()
    {
        await using var sandbox = await OffsiteSandbox.CreateAsync(1 << 20);
        var blog = sandbox.Cli.Combine("data", "blog.sqlite");
        File.Copy(sandbox.Cli.Database, blog);
        var config = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(sandbox.Cli.ConfigPath, Ct))!.AsObject();
        static System.Text.Json.Nodes.JsonObject Daily(string folder) => new()
        {
            ["type"] = "snapshot",
            ["folder"] = folder,
            ["fileName"] = "db-{yyyy}-{MM}-{dd}.sqlite",
            ["keepAtLeast"] = 1,
        };
        var multi = new System.Text.Json.Nodes.JsonObject
        {
            ["backupRoot"] = sandbox.Cli.BackupRoot,
            ["logDir"] = sandbox.Cli.LogDir,
            ["encryptionKeyFile"] = sandbox.KeyFile,
            ["offsite"] = config["offsite"]!.DeepClone(),
            ["databases"] = new System.Text.Json.Nodes.JsonArray(
                new System.Text.Json.Nodes.JsonObject { ["name"] = "shop", ["path"] = sandbox.Cli.Database, ["jobs"] = new System.Text.Json.Nodes.JsonObject { ["daily"] = Daily("shop-daily") } },
                new System.Text.Json.Nodes.JsonObject { ["name"] = "blog", ["path"] = blog, ["jobs"] = new System.Text.Json.Nodes.JsonObject { ["daily"] = Daily("blog-daily") } }),
        };
        await File.WriteAllTextAsync(sandbox.Cli.ConfigPath, multi.ToJsonString(), Ct);

        foreach (var job in new[] { "blog/daily", "shop/daily", "shop/daily" })
        {
            var run = await sandbox.Cli.CellarAsync("run", job);
            Assert.True(run.ExitCode == 0, run.ToString());
            await Task.Delay(1100, Ct);
        }

        var again = await sandbox.Cli.CellarAsync("sync");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotContain(" 1 uploaded", again.Stderr, StringComparison.Ordinal);
        var listed = await ListFromAsync(sandbox);
        Assert.Single(listed, k => k.StartsWith("blog/daily/", StringComparison.Ordinal));
        Assert.Equal(2, listed.Count(k => k.StartsWith("shop/daily/", StringComparison.Ordinal)));
    }

    /// <summary>Exit 1 and the error as the last stderr line (after the "downloading" line).</summary>
    private static void AssertFailed(CellarRun run, string mention)
    {
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.StartsWith("cellar: ", run.StderrLines[^1], StringComparison.Ordinal);
        Assert.Contains(mention, run.StderrLines[^1], StringComparison.OrdinalIgnoreCase);
        TestContext.Current.TestOutputHelper?.WriteLine(run.StderrLines[^1]);
    }

    private static async Task<List<string>> ListFromAsync(OffsiteSandbox sandbox)
    {
        var list = await sandbox.Cli.CellarAsync("list", "--from", "spaces", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        return JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("key").GetString()!).ToList();
    }

    private static async Task<byte[]> ReadAsync(Core.Storage.IObjectStore store, string key)
    {
        await using var stream = await store.GetAsync(key, Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    private static async Task<long> CountAsync(string database, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM \"{table}\"";
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>An injected fault: a store that runs <c>change</c> as a put begins, before it reads what it is sent.</summary>
    private sealed class ChangingWhileSent(Core.Storage.IObjectStore inner, Action change) : Core.Storage.IObjectStore
    {
        public string Location => inner.Location;

        public Task<Core.Storage.PutResult> PutAsync(string key, Stream content, long? length, CancellationToken cancellationToken)
        {
            change();
            return inner.PutAsync(key, content, length, cancellationToken);
        }

        public Task<Stream> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public Task<Core.Storage.StoredObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public IAsyncEnumerable<Core.Storage.StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public Task DeleteManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.DeleteManyAsync(keys, cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}

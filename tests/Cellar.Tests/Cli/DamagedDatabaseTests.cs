using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Core.Catalog;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Damage in the live database that the app has not tripped over yet is not backed up as if it were sound: with the
/// full check inline, <c>integrity_check</c> on the snapshot stops the run before the backup takes a final name; with
/// it deferred (the default), the backup is published after its quick proof, and the full check marks it failed, so
/// no restore picks it and retention does not count it. Foreign-key violations are the app's own state: kept, counted
/// in the sidecar when the full check runs inline, and every later check holds the backup to that count.
/// </summary>
public sealed class DamagedDatabaseTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task With_the_full_check_inline_a_run_of_a_database_with_a_corrupted_index_page_exits_1_naming_integrity_check_and_leaves_older_backups_untouched()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        sandbox.SetJobSetting("daily", "fullCheck", "inline");
        AddIndexedTags(sandbox.Database);

        await sandbox.BackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);

        // With the app stopped, one entry of the index gets another key: the table and every page's structure stay
        // sound, so the app reads on unaware; only integrity_check sees that row 7 is missing from the index.
        OverwriteInIndexPage(sandbox.Database, "tags_by_name", "tag-0007", "zzz-0007");

        var run = await sandbox.CellarAsync("run", "daily");

        CliSandbox.AssertOneLineError(run, 1, "integrity_check", sandbox.Database);
        Assert.Equal(before, CliSandbox.Fingerprint(sandbox.DailyFolder));
        CliSandbox.AssertNoTempFiles(sandbox.BackupRoot);
    }

    [Fact]
    public async Task Deferred_a_corrupted_index_passes_the_quick_proof_then_its_full_check_marks_the_backup_failed_and_restores_pass_it_over()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        AddIndexedTags(sandbox.Database);
        var sound = await sandbox.BackupAsync();
        OverwriteInIndexPage(sandbox.Database, "tags_by_name", "tag-0007", "zzz-0007");

        // quick_check reads every page and record, not whether each index holds its table's rows: the run publishes.
        var damaged = await sandbox.BackupAsync();
        Assert.NotEqual(sound, damaged);
        var sidecar = Sidecar.TryRead(damaged)!;
        Assert.Equal(1, sidecar.Stage);
        Assert.Null(sidecar.ForeignKeyViolations);
        var list = await sandbox.CellarAsync("list", "daily");
        Assert.Contains("full check pending", list.Stdout, StringComparison.Ordinal);

        // The full check (here `cellar verify`; the daemon's soon after the run) finds it and records the verdict.
        var verify = await sandbox.CellarAsync("verify", damaged);
        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("integrity_check failed: ", verify.Stderr, StringComparison.Ordinal);
        var status = await sandbox.CellarAsync("status");
        Assert.Contains("failed verification", status.Stdout, StringComparison.Ordinal);

        // The newest good backup is the sound one: --latest restores it, not the newer damaged one.
        var target = sandbox.Combine("restored.sqlite");
        var restore = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        using var restored = CliSandbox.Open(target);
        Assert.Equal("ok", CliSandbox.Scalar(restored, "PRAGMA integrity_check"));
    }

    [Fact]
    public async Task A_backup_that_passes_its_full_check_later_is_listed_as_fully_verified()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();
        Assert.Contains("full check pending", (await sandbox.CellarAsync("list", "daily")).Stdout, StringComparison.Ordinal);

        var verify = await sandbox.CellarAsync("verify", backup);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var list = await sandbox.CellarAsync("list", "daily", "--json");
        Assert.Contains("\"stage\": 2", list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Foreign_key_violations_of_the_app_are_kept_as_they_are_and_verify_holds_the_backup_to_the_counts_its_sidecar_records()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        sandbox.SetJobSetting("daily", "fullCheck", "inline");
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            using var command = app.CreateCommand();
            command.CommandText = """
                PRAGMA foreign_keys = OFF;
                CREATE TABLE owners(id INTEGER PRIMARY KEY);
                CREATE TABLE pets(id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners(id));
                INSERT INTO owners VALUES (1);
                INSERT INTO pets(owner_id) VALUES (1), (2), (3);
                """;
            command.ExecuteNonQuery();
        }

        // A backup is a faithful copy: the app's two orphaned pets are the source's state, recorded, not refused.
        var backup = await sandbox.BackupAsync();
        Assert.Equal(2, Sidecar.TryRead(backup)!.ForeignKeyViolations);
        var verify = await sandbox.CellarAsync("verify", backup);
        Assert.True(verify.ExitCode == 0, verify.ToString());

        // The drill holds the stored file to what its sidecar says the snapshot held.
        var sidecar = Sidecar.PathFor(backup);
        var recorded = await File.ReadAllTextAsync(sidecar, TestContext.Current.CancellationToken);
        EditSidecar(sidecar, json => json["foreignKeyViolations"] = 0);
        verify = await sandbox.CellarAsync("verify", backup);
        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("foreign_key_check reports 2 violations, the snapshot had 0", verify.Stderr, StringComparison.Ordinal);

        await File.WriteAllTextAsync(sidecar, recorded, TestContext.Current.CancellationToken);
        EditSidecar(sidecar, json => json["rowCounts"]!["pets"] = 4);
        verify = await sandbox.CellarAsync("verify", backup);
        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("table pets has 3 rows, the snapshot had 4", verify.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_refuses_a_stored_snapshot_that_fails_integrity_check_even_when_its_checksum_matches()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        AddIndexedTags(sandbox.Database);
        var backup = await sandbox.BackupAsync();

        // A backup and sidecar rewritten together (by an older, buggy version, or by hand): the same rows and counts,
        // one index entry wrong, and a checksum that matches. Only integrity_check on the expanded copy can tell.
        var expanded = sandbox.Combine("expanded.sqlite");
        await using (var stored = new GZipStream(File.OpenRead(backup), CompressionMode.Decompress))
        await using (var copy = File.Create(expanded))
        {
            await stored.CopyToAsync(copy, ct);
        }

        OverwriteInIndexPage(expanded, "tags_by_name", "tag-0007", "zzz-0007");
        await using (var copy = File.OpenRead(expanded))
        await using (var restored = new GZipStream(File.Create(backup), CompressionLevel.Fastest))
        {
            await copy.CopyToAsync(restored, ct);
        }

        EditSidecar(Sidecar.PathFor(backup), json =>
        {
            json["sha256"] = CliSandbox.HashOf(backup);
            json["sizeBytes"] = new FileInfo(backup).Length;
        });

        var verify = await sandbox.CellarAsync("verify", backup);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("integrity_check failed: ", verify.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A table with an index the tests can damage: 50 tags, tag-0001 to tag-0050.</summary>
    private static void AddIndexedTags(string database)
    {
        using var app = CliSandbox.Open(database, readOnly: false);
        using var command = app.CreateCommand();
        command.CommandText = "CREATE TABLE tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX tags_by_name ON tags(name); "
            + string.Concat(Enumerable.Range(1, 50).Select(i => $"INSERT INTO tags(name) VALUES ('tag-{i.ToString("D4", CultureInfo.InvariantCulture)}');"));
        command.ExecuteNonQuery();
    }

    private static void EditSidecar(string path, Action<JsonNode> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Replaces <paramref name="find"/> with <paramref name="replacement"/> (as long) in the root page of <paramref name="index"/>.</summary>
    private static void OverwriteInIndexPage(string database, string index, string find, string replacement)
    {
        long root;
        long pageSize;
        using (var connection = CliSandbox.Open(database))
        {
            root = (long)CliSandbox.Scalar(connection, $"SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = '{index}'")!;
            pageSize = (long)CliSandbox.Scalar(connection, "PRAGMA page_size")!;
        }

        // A -wal with frames would be read instead of the page changed here.
        var wal = new FileInfo(database + "-wal");
        Assert.True(!wal.Exists || wal.Length == 0, "the database's -wal still holds frames");

        using var file = new FileStream(database, FileMode.Open, FileAccess.ReadWrite);
        var page = new byte[pageSize];
        file.Position = (root - 1) * pageSize;
        file.ReadExactly(page);
        var at = page.AsSpan().IndexOf(Encoding.ASCII.GetBytes(find));
        Assert.True(at >= 0, $"{find} is not in the root page ({root}) of {index}");
        Encoding.ASCII.GetBytes(replacement).CopyTo(page.AsSpan(at));
        file.Position = (root - 1) * pageSize;
        file.Write(page);
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Cellar.Core.Catalog;
using Cellar.Core.Dumps;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary><c>cellar run social</c> and <c>cellar restore DUMP --tables</c> end to end, as child processes.</summary>
public sealed class TableDumpTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task A_dump_is_plain_gzipped_sql_with_a_verified_sidecar_and_loads_into_stock_sqlite3()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);

        var dump = await sandbox.BackupAsync("social");

        Assert.Matches(@"social-tables-\d{4}-\d{2}-\d{2}\.sql\.gz$", dump);
        var sidecar = Sidecar.TryRead(dump)!;
        Assert.True(sidecar.Kind == DumpKind.Instance.Name && sidecar.Verified);
        Assert.Equal(["comments", "follows", "likes", "reactions"], sidecar.RowCounts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dump));

        var loaded = sandbox.Combine("loaded.sqlite");
        var (exit, output) = await CliSandbox.ExecAsync("sh", "-c", $"gunzip -c '{dump}' | sqlite3 -bail '{loaded}'");
        Assert.True(exit == 0, output);
        using var connection = CliSandbox.Open(loaded);
        foreach (var (table, rows) in sidecar.RowCounts)
        {
            Assert.Equal(rows, CliSandbox.Scalar(connection, $"SELECT count(*) FROM {table}"));
        }

        Assert.Equal(1L, CliSandbox.Scalar(connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'idx_comments_image_id'"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restoring_comments_from_last_weeks_dump_brings_them_back_and_leaves_the_new_galleries_as_they_are()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        var dumpedComments = Contents(sandbox.Database, "comments");

        // Since the dump: the app gained a gallery and a photo, and a bad migration wiped every comment.
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            Exec(app, """
                PRAGMA foreign_keys=ON;
                INSERT INTO galleries (user_id, title, visibility, created_at) VALUES (1, 'Winter 2026', 'public', '2026-11-20');
                INSERT INTO images (gallery_id, file_name, width, height, size_bytes, thumbnail, uploaded_at)
                    VALUES (last_insert_rowid(), 'snow.jpg', 10, 10, 100, X'00', '2026-11-20');
                DELETE FROM comments;
                """);
        }

        var galleries = Contents(sandbox.Database, "galleries");
        var images = Contents(sandbox.Database, "images");

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "comments");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(dumpedComments, Contents(sandbox.Database, "comments"));
        Assert.Equal(galleries, Contents(sandbox.Database, "galleries"));
        Assert.Equal(images, Contents(sandbox.Database, "images"));
        using (var connection = CliSandbox.Open(sandbox.Database))
        {
            Assert.Equal("ok", CliSandbox.Scalar(connection, "PRAGMA integrity_check"));
            Assert.Equal(1L, CliSandbox.Scalar(connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'idx_comments_image_id'"));
        }

        var safety = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(sandbox.Database)!, "portfolio.sqlite.pre-restore-*"));
        using var saved = CliSandbox.Open(safety);
        Assert.Equal(0L, CliSandbox.Scalar(saved, "SELECT count(*) FROM comments"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_restore_that_would_break_foreign_keys_is_rolled_back_and_changes_nothing()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            // An image that dumped comments point to is gone (removed without cascading, as an app with keys off would).
            Exec(app, "PRAGMA foreign_keys=OFF; DELETE FROM images WHERE id = (SELECT image_id FROM comments LIMIT 1); DELETE FROM comments;");
        }

        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "comments", "--no-safety-copy");

        CliSandbox.AssertOneLineError(run, 1, "foreign key", "rolled back");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(sandbox.Database)!, "portfolio.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_table_restore_that_would_orphan_a_reaction_to_a_comment_made_since_the_dump_rolls_back_naming_it()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        long reaction;
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            // Since the dump: a comment, and a reaction to it. Restoring comments from the dump would take the comment
            // away and leave the reaction, in a table the restore does not touch, pointing at nothing.
            Exec(app, """
                PRAGMA foreign_keys=ON;
                INSERT INTO comments (image_id, user_id, body, created_at)
                    SELECT image_id, user_id, 'made since the dump', '2026-11-20' FROM comments ORDER BY id LIMIT 1;
                INSERT INTO reactions (comment_id, user_id, emoji, created_at)
                    VALUES (last_insert_rowid(), (SELECT min(id) FROM users), '+1', '2026-11-20');
                """);
            reaction = (long)CliSandbox.Scalar(app, "SELECT max(id) FROM reactions")!;
        }

        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "comments");

        CliSandbox.AssertOneLineError(run, 1, "foreign key", $"reactions row {reaction} points to a missing comments row", "rolled back");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(sandbox.Database)!, "portfolio.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_restored_table_keeps_the_higher_AUTOINCREMENT_counter_so_no_id_is_handed_out_twice()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            // At the dump: notifications 1 to 3 handed out; events 1 to 10, of which 4 to 10 were deleted again.
            Exec(app, """
                CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
                INSERT INTO notifications (body) VALUES ('n1'), ('n2'), ('n3');
                INSERT INTO events (body) VALUES ('e1'), ('e2'), ('e3'), ('e4'), ('e5'), ('e6'), ('e7'), ('e8'), ('e9'), ('e10');
                DELETE FROM events WHERE id > 3;
                """);
        }

        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken))!;
        config["jobs"]!["social"]!["tables"] = new JsonArray("notifications", "events");
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), TestContext.Current.CancellationToken);
        var dump = await sandbox.BackupAsync("social");

        // Since the dump: notifications 4 and 5 went out to users, and a migration recreated events, empty.
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            Exec(app, """
                INSERT INTO notifications (body) VALUES ('n4'), ('n5');
                DROP TABLE events;
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
                """);
        }

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "notifications,events", "--no-safety-copy");

        Assert.True(run.ExitCode == 0, run.ToString());
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            Assert.Equal(3L, CliSandbox.Scalar(app, "SELECT count(*) FROM notifications"));
            Assert.Equal(3L, CliSandbox.Scalar(app, "SELECT count(*) FROM events"));

            // The live counter (5) was higher for notifications, the dump's (10) for events: the next id comes after both.
            Assert.Equal(6L, CliSandbox.Scalar(app, "INSERT INTO notifications (body) VALUES ('n6') RETURNING id"));
            Assert.Equal(11L, CliSandbox.Scalar(app, "INSERT INTO events (body) VALUES ('e11') RETURNING id"));
        }
    }

    [Fact]
    public async Task Restoring_a_table_the_dump_does_not_hold_exits_2_naming_the_tables_it_holds()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "galleries");

        CliSandbox.AssertOneLineError(run, 2, "galleries", "comments");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task A_listed_table_missing_from_the_database_fails_the_run_naming_the_key()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var config = await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.Replace("\"follows\"", "\"followers\"", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var run = await sandbox.CellarAsync("run", "social");

        CliSandbox.AssertOneLineError(run, 1, "jobs:social:tables:3", "followers");
        Assert.False(Directory.Exists(Path.Combine(sandbox.BackupRoot, "social")) && Directory.EnumerateFiles(Path.Combine(sandbox.BackupRoot, "social"), "*.gz").Any());
    }

    [Fact]
    public async Task A_flipped_byte_in_a_stored_dump_fails_verify_and_restore()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        var bytes = await File.ReadAllBytesAsync(dump, TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(dump, bytes, TestContext.Current.CancellationToken);
        var before = CliSandbox.HashOf(sandbox.Database);

        var verify = await sandbox.CellarAsync("verify", dump);
        var restore = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains(Path.GetFileName(dump), verify.Stdout + verify.Stderr, StringComparison.Ordinal);
        CliSandbox.AssertOneLineError(restore, 1, "refusing");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    private static void Exec(Microsoft.Data.Sqlite.SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A table's rows as text, in rowid order, to compare whole tables.</summary>
    private static string Contents(string database, string table)
    {
        using var connection = CliSandbox.Open(database);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table} ORDER BY rowid";
        using var reader = command.ExecuteReader();
        var text = new StringBuilder();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                text.Append(reader.IsDBNull(i) ? "NULL" : reader.GetValue(i) is byte[] b ? Convert.ToHexString(b) : reader.GetValue(i).ToString()).Append('|');
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}

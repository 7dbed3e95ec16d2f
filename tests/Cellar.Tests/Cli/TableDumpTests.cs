using System.Text;
using Cellar.Core.Catalog;
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
        Assert.True(sidecar.IsDump && sidecar.Verified);
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

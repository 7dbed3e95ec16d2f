using Cellar.Demo;

using Microsoft.Data.Sqlite;

using Xunit;

namespace Cellar.Tests.Demo;

/// <summary>
/// Checks that the demo database is a sound, reproducible stand-in for a real app's database,
/// since benchmarks and end-to-end tests compare backups of it across runs.
/// </summary>
public sealed class PortfolioDatabaseTests : IDisposable
{
    private const long TargetBytes = 5 * 1024 * 1024;

    private static readonly string[] Tables = ["users", "galleries", "images", "comments", "likes", "reactions", "follows"];

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cellar-demo-");

    public void Dispose()
    {
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Generated_database_is_within_15_percent_of_target_size()
    {
        string path = await GenerateAsync("portfolio.db");

        long size = new FileInfo(path).Length;
        Assert.InRange(size, (long)(TargetBytes * 0.85), (long)(TargetBytes * 1.15));
    }

    [Fact]
    public async Task Generated_database_passes_integrity_check()
    {
        string path = await GenerateAsync("portfolio.db");

        Assert.Equal("ok", await ScalarAsync(path, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task Generated_database_has_valid_foreign_keys()
    {
        string path = await GenerateAsync("portfolio.db");

        await using SqliteConnection connection = await OpenAsync(path);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA foreign_key_check;";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.False(await reader.ReadAsync(TestContext.Current.CancellationToken), "foreign_key_check reported violations");
    }

    [Fact]
    public async Task Generated_database_has_rows_in_every_table()
    {
        string path = await GenerateAsync("portfolio.db");

        foreach (string table in Tables)
        {
            long rows = (long)(await ScalarAsync(path, $"SELECT count(*) FROM {table};"))!;
            Assert.True(rows > 0, $"{table} is empty");
        }
    }

    [Fact]
    public async Task Generated_database_is_left_in_wal_mode_with_everything_checkpointed()
    {
        string path = await GenerateAsync("portfolio.db");

        // Inspect the sidecar before opening the database, since opening it recreates the WAL.
        var wal = new FileInfo(path + "-wal");
        Assert.True(!wal.Exists || wal.Length == 0, "the WAL still holds frames, so the main file is not the whole database");
        Assert.Equal("wal", await ScalarAsync(path, "PRAGMA journal_mode;"));
    }

    [Fact]
    public async Task Generated_database_is_deterministic()
    {
        string first = await GenerateAsync("first.db");
        string second = await GenerateAsync("second.db");

        foreach (string table in Tables)
        {
            // rowid rather than id: likes and follows only have composite keys, yet every table
            // here is a rowid table, so one query shape covers them all.
            string sql = $"SELECT count(*) || ':' || total(rowid) FROM {table};";
            Assert.Equal(await ScalarAsync(first, sql), await ScalarAsync(second, sql));
        }
    }

    [Fact]
    public async Task Create_refuses_to_overwrite_an_existing_file()
    {
        string path = Path.Combine(_directory.FullName, "existing.db");
        await File.WriteAllTextAsync(path, "not a database", TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<IOException>(
            () => PortfolioDatabase.CreateAsync(path, TargetBytes, TestContext.Current.CancellationToken));
        Assert.Equal("not a database", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Cancelled_generation_leaves_no_files_behind()
    {
        string path = Path.Combine(_directory.FullName, "cancelled.db");
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => PortfolioDatabase.CreateAsync(path, TargetBytes, cancellation.Token));
        Assert.Empty(_directory.GetFiles());
    }

    private async Task<string> GenerateAsync(string name)
    {
        string path = Path.Combine(_directory.FullName, name);
        await PortfolioDatabase.CreateAsync(path, TargetBytes, TestContext.Current.CancellationToken);
        return path;
    }

    private static async Task<SqliteConnection> OpenAsync(string path)
    {
        // No pooling, so Dispose can delete the directory without a pooled handle holding the file.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        return connection;
    }

    private static async Task<object?> ScalarAsync(string path, string sql)
    {
        await using SqliteConnection connection = await OpenAsync(path);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
    }
}

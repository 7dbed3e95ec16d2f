using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core.Snapshots;
using Cellar.Core.Sqlite;
using Cellar.Demo;
using Cellar.Tests.Compression;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Snapshots;

/// <summary>
/// A WAL-mode database is backed up where it lies, through read transactions pinned with the app's writers held for a
/// moment, and copied when that cannot be done. The cases where reading in place needs care, each against a real app
/// connection committing at the worst moment. (SnapshotConsistencyTests shows the committed prefix under a busy writer.)
/// </summary>
public sealed class InPlaceSnapshotTests : IDisposable
{
    private const int Rows = 2000;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_database_checkpointed_whole_is_read_from_its_file_alone_so_a_wal_restarted_during_the_backup_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("app.sqlite");
        using var app = new SqliteConnection($"Data Source={database};Pooling=False");
        app.Open();
        app.Execute("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
        for (var batch = 0; batch < 10; batch++)
        {
            app.Execute($"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {Rows / 10}) INSERT INTO item(body) SELECT randomblob(400) FROM n");
        }

        // Every frame copied into the file, none dropped from the WAL: a read transaction begun now reads the file alone,
        // and lets the app's next commit start the WAL over, writing its frames where the ones it replaces were.
        var (log, checkpointed) = Checkpoint(app);
        Assert.True(log > 0 && checkpointed == log, $"the checkpoint copied {checkpointed} of {log} frames");
        var before = Bodies(app);
        var salts = Salts(database);

        byte[]? saltsDuring = null;
        var progress = new SynchronousProgress(p =>
        {
            if (p is { Stage: "snapshot", Fraction: 1 } && saltsDuring is null)
            {
                // Pinned, not yet read: every page changes, in a restarted WAL.
                app.Execute("UPDATE item SET body = zeroblob(400)");
                saltsDuring = Salts(database);
            }
        });
        var result = await Runner(database).RunAsync("daily", null, progress, ct);

        Assert.NotNull(saltsDuring);
        Assert.NotEqual(salts, saltsDuring);
        Assert.NotNull(result.Sidecar!.WritersHeldOffMs);
        await SampleData.DecodeWithStockToolAsync("gzip", result.Path!);
        using var restored = SqliteFiles.OpenLive(Path.ChangeExtension(result.Path!, null));
        Assert.Equal("ok", restored.Scalar("PRAGMA integrity_check"));
        Assert.Equal(before, Bodies(restored));
    }

    [Fact]
    public async Task A_database_whose_app_holds_a_write_transaction_is_copied_instead_without_its_rows_and_the_copy_never_restarts()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("portfolio.sqlite");
        await PortfolioDatabase.CreateAsync(database, 16L << 20, ct);

        // About 130 steps of 32 pages: the app commits between every two of them, which restarts a copy by SQLite's
        // backup API unless the copy's own read transaction stops that.
        SqliteSnapshot.PagesPerStep = 32;
        using var app = SqliteFiles.OpenLive(database);
        app.Execute("CREATE TABLE marker(id INTEGER PRIMARY KEY)");
        app.Execute("BEGIN IMMEDIATE; INSERT INTO marker DEFAULT VALUES");
        var steps = new List<double>();
        var progress = new SynchronousProgress(p =>
        {
            if (p.Stage == "snapshot")
            {
                // The held transaction ends once the copy is under way, then the app commits at every step.
                app.Execute(steps.Count == 0 ? "COMMIT" : "INSERT INTO marker DEFAULT VALUES");
                steps.Add(p.Fraction);
            }
        });
        var result = await Runner(database).RunAsync("daily", null, progress, ct);

        Assert.True(steps.Count >= 100, $"the copy took only {steps.Count} steps");
        Assert.Equal(steps.Order(), steps);
        Assert.Equal(1, steps[^1]);
        Assert.Equal("wal", result.Sidecar!.JournalMode);
        Assert.Null(result.Sidecar.WritersHeldOffMs);
        Assert.Equal(0, result.Sidecar.RowCounts["marker"]);
        Assert.Equal((long)steps.Count, app.Scalar("SELECT count(*) FROM marker"));
    }

    [Fact]
    public async Task Waiting_for_the_apps_write_transaction_ends_as_soon_as_the_backup_is_cancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("portfolio.sqlite");
        await PortfolioDatabase.CreateAsync(database, 1L << 20, ct);
        using var app = SqliteFiles.OpenLive(database);
        app.Execute("BEGIN IMMEDIATE; CREATE TABLE marker(id INTEGER PRIMARY KEY)");

        // The wait for the app's lock is a second of tries; a cancel 50 ms into it ends it there, not a second later.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() => InPlaceSnapshot.TryTake(database, TimeProvider.System, null, cancel.Token), ct));
        Assert.True(waited.Elapsed < TimeSpan.FromMilliseconds(500), $"cancelled after {waited.ElapsedMilliseconds} ms");
        app.Execute("COMMIT");
    }

    private JobRunner Runner(string database)
    {
        var configPath = _temp.Combine("cellar.json");
        File.WriteAllText(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "daily": { "type": "snapshot", "compression": "gzip" } } }
            """);
        return new JobRunner(ConfigLoader.Load(configPath), TimeProvider.System, NullLoggerFactory.Instance);
    }

    private static (long Log, long Checkpointed) Checkpoint(SqliteConnection app)
    {
        using var command = app.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return (reader.GetInt64(1), reader.GetInt64(2));
    }

    private static List<byte[]> Bodies(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM item ORDER BY id";
        using var reader = command.ExecuteReader();
        var bodies = new List<byte[]>();
        while (reader.Read())
        {
            bodies.Add((byte[])reader[0]);
        }

        Assert.Equal(Rows, bodies.Count);
        return bodies;
    }

    /// <summary>The WAL header's salts, which every restart of the WAL changes.</summary>
    private static byte[] Salts(string database)
    {
        using var wal = new FileStream(database + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var header = new byte[24];
        wal.ReadExactly(header);
        return header[16..];
    }
}

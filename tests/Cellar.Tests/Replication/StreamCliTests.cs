using Cellar.Core.Replication;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// The stream job through the real <c>cellar</c> binary: <c>cellar run</c> catches up once, <c>cellar restore --latest</c>
/// and <c>--at</c> rebuild the database, and a damaged or missing segment is refused in one line, nothing restored.
/// </summary>
public sealed class StreamCliTests
{
    [Fact]
    public async Task Run_then_restore_latest_and_at_a_moment_before_the_last_commits()
    {
        using var sandbox = new StreamSandbox();
        using var app = OpenApp(sandbox.Database);
        Commit(app, 1, 50);
        await CatchUpAsync(sandbox);
        Commit(app, 51, 100);
        await CatchUpAsync(sandbox);
        var between = NewestCommitted(sandbox);
        await Task.Delay(20, TestContext.Current.CancellationToken);
        Commit(app, 101, 150);
        var last = await CatchUpAsync(sandbox);
        Assert.Contains("transaction(s) shipped", last.Stderr);

        var latest = sandbox.Combine("latest.sqlite");
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "restore", "--latest", "live", "--to", latest);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(150, StreamSandbox.Rows(latest, "item"));

        var earlier = sandbox.Combine("earlier.sqlite");
        run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "restore", "--job", "live", "--at", between.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), "--to", earlier);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(100, StreamSandbox.Rows(earlier, "item"));
    }

    [Fact]
    public async Task A_flipped_bit_in_a_segment_is_refused_and_nothing_is_restored()
    {
        using var sandbox = new StreamSandbox();
        using var app = OpenApp(sandbox.Database);
        Commit(app, 1, 20);
        await CatchUpAsync(sandbox);
        Commit(app, 21, 40);
        await CatchUpAsync(sandbox);
        var segment = Generation.List(sandbox.Job.Folder)[^1].Segments()[^1].Path;
        CliSandbox.FlipByte(segment, new FileInfo(segment).Length / 2);

        await sandbox.AssertRestoreRefusedAsync("damaged");
    }

    [Fact]
    public async Task A_missing_segment_is_a_hole_restore_refuses_to_step_over()
    {
        using var sandbox = new StreamSandbox();
        using var app = OpenApp(sandbox.Database);
        Commit(app, 1, 10);
        await CatchUpAsync(sandbox);
        for (var i = 0; i < 3; i++)
        {
            Commit(app, 11 + (i * 10), 20 + (i * 10));
            await CatchUpAsync(sandbox);
        }

        var segments = Generation.List(sandbox.Job.Folder)[^1].Segments();
        File.Delete(segments[1].Path);

        await sandbox.AssertRestoreRefusedAsync("missing transactions");
    }

    [Fact]
    public async Task A_database_not_in_WAL_mode_is_refused_and_left_in_its_mode()
    {
        using var sandbox = new StreamSandbox();
        using (var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False"))
        {
            app.Open();
            using var create = app.CreateCommand();
            create.CommandText = "CREATE TABLE t(x)";
            create.ExecuteNonQuery();
        }

        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        CliSandbox.AssertOneLineError(run, 1, "not in WAL mode");
        using var check = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False");
        check.Open();
        using var mode = check.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode";
        Assert.Equal("delete", mode.ExecuteScalar());
    }

    private static SqliteConnection OpenApp(string path)
    {
        var app = new SqliteConnection($"Data Source={path};Pooling=False");
        app.Open();
        using var setup = app.CreateCommand();
        setup.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS item(id INTEGER PRIMARY KEY, body TEXT NOT NULL)";
        setup.ExecuteNonQuery();
        return app;
    }

    /// <summary>Commits rows <paramref name="from"/>..<paramref name="to"/>, one transaction each.</summary>
    private static void Commit(SqliteConnection app, int from, int to)
    {
        for (var id = from; id <= to; id++)
        {
            using var insert = app.CreateCommand();
            insert.CommandText = "INSERT INTO item(id, body) VALUES ($id, $body)";
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$body", new string('x', 500));
            insert.ExecuteNonQuery();
        }
    }

    private static async Task<CellarRun> CatchUpAsync(StreamSandbox sandbox)
    {
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        Assert.True(run.ExitCode == 0, run.ToString());
        return run;
    }

    /// <summary>When Cellar saw the newest shipped transaction committed.</summary>
    private static DateTimeOffset NewestCommitted(StreamSandbox sandbox) =>
        StreamHistory.After(Generation.List(sandbox.Job.Folder)[^1], 0).Last().Committed;
}

using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// A writer killed after writing its transaction's frames to the WAL, but before it moved the wal-index's mxFrame,
/// leaves frames that pass every check a frame has (salts, chained checksums, a commit frame) and were never
/// committed: the app's next writer writes over them. The follower ships only what the wal-index counts, and takes a
/// generation's first base only up to it, so it ships the next writer's transaction instead, and the replica stays the
/// database.
/// </summary>
public sealed class UncommittedFramesTests
{
    private const long Ghost = 1_000_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Frames_the_wal_index_does_not_count_are_not_shipped_and_the_next_writers_are()
    {
        using var app = new FollowedApp(rows: 200);
        app.Execute("UPDATE item SET body = randomblob(400) WHERE id = 1");
        await app.Follower.StepAsync(Ct);
        var shipped = app.Follower.Txid;

        WriteUncommitted(app.Sandbox);
        await app.Follower.StepAsync(Ct);
        Assert.Equal(shipped, app.Follower.Txid);

        app.Execute("UPDATE item SET body = randomblob(400) WHERE id = 2");
        await app.Follower.StepAsync(Ct);
        Assert.Equal(shipped + 1, app.Follower.Txid);
        app.Follower.Seal(Ct);

        var restored = await app.Sandbox.RestoreAsync();
        Assert.Equal(0, StreamSandbox.Rows(restored, $"item WHERE id = {Ghost}"));
        Assert.Equal(app.Digest(), FollowedApp.Digest(restored));
    }

    [Fact]
    public async Task A_generation_begun_over_such_frames_leaves_them_out_of_its_base_and_ships_the_next_writers()
    {
        using var sandbox = new StreamSandbox();
        using var app = sandbox.OpenApp();
        app.Execute(FollowedApp.CreateItems(200));
        WriteUncommitted(sandbox);

        using var follower = new WalFollower(sandbox.Job, new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero)), TimeZoneInfo.Utc, NullLogger.Instance);
        await follower.StepAsync(Ct);
        app.Execute("UPDATE item SET body = randomblob(400) WHERE id = 2");
        await follower.StepAsync(Ct);
        Assert.Equal(1, follower.Txid);
        follower.Seal(Ct);

        var restored = await sandbox.RestoreAsync();
        Assert.Equal(0, StreamSandbox.Rows(restored, $"item WHERE id = {Ghost}"));
        Assert.Equal(FollowedApp.Digest(sandbox.Database), FollowedApp.Digest(restored));
    }

    /// <summary>
    /// Writes onto the live WAL's end the frames of a transaction (a row the app never wrote) made on a copy of the
    /// database and its WAL: SQLite goes on with the copied WAL's salts and checksum chain, so they are frames the live
    /// WAL could hold, which the live wal-index knows nothing of.
    /// </summary>
    private static void WriteUncommitted(StreamSandbox sandbox)
    {
        var copy = sandbox.Combine("ghost.sqlite");
        File.Copy(sandbox.Database, copy);
        File.Copy(sandbox.Database + "-wal", copy + "-wal");
        var end = new FileInfo(copy + "-wal").Length;
        byte[] frames;
        using (var other = new SqliteConnection($"Data Source={copy};Pooling=False"))
        {
            other.Open();
            using var insert = other.CreateCommand();
            insert.CommandText = $"INSERT INTO item(id, body) VALUES ({Ghost}, randomblob(400))";
            insert.ExecuteNonQuery();

            // Read before closing: the last connection to close checkpoints the WAL and deletes it.
            using var wal = new FileStream(copy + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            frames = new byte[wal.Length - end];
            wal.Position = end;
            wal.ReadExactly(frames);
        }

        Assert.True(frames.Length > 0);
        using var live = new FileStream(sandbox.Database + "-wal", FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        Assert.Equal(end, live.Length);
        live.Position = end;
        live.Write(frames);
        live.Flush();
    }
}

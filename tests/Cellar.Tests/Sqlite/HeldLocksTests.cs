using System.Text;
using Cellar.Core;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Cellar.Core.Sqlite;
using Cellar.Core.Wal;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Sqlite;

/// <summary>
/// SQLite's locks in Cellar's process survive what Cellar reads beside them: POSIX drops every lock a process holds on
/// a file when any descriptor of it is closed, so a header read or a finished snapshot used to unlock the follower's
/// read transactions, and the app's last connection then deleted the WAL under them.
/// </summary>
public sealed class HeldLocksTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_apps_last_connection_leaves_the_wal_to_the_follower_after_cellar_read_the_header_and_took_a_snapshot_beside_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = Create();
        using var live = LiveDatabase.Open(database);
        var wal = UnixFiles.Stat(database + "-wal")!.Value.Id;

        // What a backup and each of the follower's steps do beside it.
        Assert.True(LiveDatabase.InWalMode(database));
        SqliteFiles.RequireDatabase(database, "database");
        using (var snapshot = InPlaceSnapshot.TryTake(database, TimeProvider.System, null, ct))
        {
            Assert.NotNull(snapshot);
        }

        // The app, another process, commits and closes its only connection: finding the database locked by Cellar's
        // readers, it leaves the WAL and its index where they are.
        await StockSqlite.RunAsync(database, Encoding.UTF8.GetBytes("INSERT INTO item VALUES (2);"), ct);

        Assert.Equal(wal, UnixFiles.Stat(database + "-wal")?.Id);
        Assert.True(live.StillTheSame());
    }

    [Fact]
    public void A_wal_deleted_and_made_again_under_the_follower_is_noticed()
    {
        var database = Create();
        using var live = LiveDatabase.Open(database);
        Assert.True(live.StillTheSame());

        File.Move(database + "-wal", database + "-wal.gone");
        File.WriteAllBytes(database + "-wal", []);
        try
        {
            Assert.False(live.StillTheSame());
        }
        finally
        {
            File.Move(database + "-wal.gone", database + "-wal", overwrite: true);
        }
    }

    private string Create()
    {
        var database = _temp.Combine("app.sqlite");
        using (var app = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString()))
        {
            app.Open();
            app.Execute("PRAGMA journal_mode=WAL; CREATE TABLE item(id INTEGER PRIMARY KEY); INSERT INTO item VALUES (1)");
        }

        return database;
    }
}

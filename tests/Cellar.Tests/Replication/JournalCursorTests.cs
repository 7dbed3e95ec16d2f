using Cellar.Core;
using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// The offsite upload reads a generation's journal every second through a <see cref="JournalCursor"/>: it must read the
/// same transactions as a read of the whole journal, across seals that empty it, while reading only what was appended.
/// </summary>
public sealed class JournalCursorTests
{
    [Fact]
    public async Task A_cursor_reads_what_a_whole_read_does_across_seals_and_only_what_was_appended()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        using var app = sandbox.OpenApp();
        app.Execute("CREATE TABLE item(id INTEGER PRIMARY KEY, b BLOB)");
        using var follower = new WalFollower(sandbox.Job, TimeProvider.System, TimeZoneInfo.Utc, NullLogger.Instance);
        await follower.StepAsync(ct); // the base: it holds the table
        var cursor = new JournalCursor();
        var done = follower.Txid;
        for (var round = 0; round < 6; round++)
        {
            await CommitThreeAsync(app, follower, ct);
            if (round is 2 or 3)
            {
                follower.Seal(ct); // the journal is emptied: what the cursor knew of it is stale
                await CommitThreeAsync(app, follower, ct);
            }

            var whole = StreamHistory.After(follower.Generation!, done).Select(r => r.Txid).ToList();
            var read = StreamHistory.After(follower.Generation!, done, cursor).Select(r => r.Txid).ToList();
            Assert.Equal(whole, read);
            Assert.Equal(round is 2 or 3 ? 6 : 3, read.Count);
            done = read[^1];
        }

        // A byte of the journal already read is damaged: a whole read fails on it, the cursor never reads it again.
        var journal = follower.Generation!.JournalPath;
        using (var file = new FileStream(journal, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = 100;
            var b = file.ReadByte();
            file.Position = 100;
            file.WriteByte((byte)(b ^ 1));
        }

        await CommitThreeAsync(app, follower, ct);
        Assert.Equal([done + 1, done + 2, done + 3], StreamHistory.After(follower.Generation!, done, cursor).Select(r => r.Txid));
        Assert.Throws<CellarException>(() => StreamHistory.After(follower.Generation!, done).ToList());
    }

    private static async Task CommitThreeAsync(Microsoft.Data.Sqlite.SqliteConnection app, WalFollower follower, CancellationToken ct)
    {
        for (var i = 0; i < 3; i++)
        {
            app.Execute("INSERT INTO item(b) VALUES (randomblob(100))");
            await follower.StepAsync(ct);
        }
    }
}

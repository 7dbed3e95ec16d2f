using Cellar.Core.Replication;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// Shipped pages stored as their change from the version before: a few bytes changed in an incompressible page
/// cost almost nothing, every point restores exactly whether the version before came from the WAL or the database
/// file, a follower that cannot be sure of it (after Cellar was down) stores pages whole until it can, and a change
/// that does not make the page its check names is refused, never applied.
/// </summary>
public sealed class RecordChangeTests
{
    private const string OneByteInEveryNinthRow = "UPDATE item SET body = CAST(substr(body, 1, 399) || x'5a' AS BLOB) WHERE id % 9 = 0";

    // A row that grows moves to free space elsewhere in its page: its bytes stay, at another place.
    private const string EveryNinthRowGrown = "UPDATE item SET body = CAST(body || x'5a5a5a5a' AS BLOB) WHERE id % 9 = 4";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(OneByteInEveryNinthRow)]
    [InlineData(EveryNinthRowGrown)]
    public async Task A_few_bytes_changed_in_incompressible_pages_ship_as_almost_nothing_and_restore_exactly(string change)
    {
        using var app = new FollowedApp();

        // The rows were inserted before the follower began: the version before each change is a frame of the WAL.
        var (pages, stored) = await ShipAsync(app, change);

        Assert.True(pages.Count >= 200, $"{pages.Count} pages");
        Assert.All(pages, p => Assert.NotNull(p.Check));
        Assert.True(stored * 20 < pages.Count * 4096L, $"{pages.Count} changed pages stored in {stored} bytes");
        Assert.Equal(app.Digest(), FollowedApp.Digest(await app.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task After_the_followers_own_checkpoint_the_version_before_comes_from_the_database_file()
    {
        using var app = new FollowedApp();

        await WalStartsOverAsync(app);
        var (pages, _) = await ShipAsync(app, OneByteInEveryNinthRow);

        Assert.All(pages, p => Assert.NotNull(p.Check));
        Assert.Equal(app.Digest(), FollowedApp.Digest(await app.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task A_follower_started_again_stores_pages_whole_until_a_WAL_begins_under_its_watch()
    {
        using var app = new FollowedApp();
        await app.RestartFollowerAsync();

        // The newest version of these pages is in the WAL, which the new follower did not read: taking the file's page
        // as the version before would ship changes no restore can apply.
        var (whole, _) = await ShipAsync(app, OneByteInEveryNinthRow);
        Assert.All(whole, p => Assert.Null(p.Check));

        await WalStartsOverAsync(app);
        var (changes, _) = await ShipAsync(app, OneByteInEveryNinthRow);
        Assert.All(changes, p => Assert.NotNull(p.Check));
        Assert.Equal(app.Digest(), FollowedApp.Digest(await app.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task A_change_that_does_not_make_its_page_is_refused_and_nothing_is_restored()
    {
        using var app = new FollowedApp();
        await ShipAsync(app, OneByteInEveryNinthRow);

        // The segment written again with one page's check changed and every record's checksum made to match, as a
        // change made over the wrong version would be: only the check can tell.
        StreamRecord? changed = null;
        RewriteLastSegment(app, records =>
        {
            changed = records[^1] with { Pages = [.. records[^1].Pages.Select((p, i) => i == 0 ? p with { Check = p.Check + 1 } : p)] };
            return records[..^1].Append(changed);
        });

        await app.Sandbox.AssertRestoreRefusedAsync($"transaction {changed!.Txid} changes page {changed.Pages[0].Number} from a version other than the one this restore holds");
    }

    [Fact]
    public async Task A_batch_of_more_pages_than_is_worth_changing_is_stored_whole()
    {
        using var app = new FollowedApp(rows: 6000);

        // Every page of the table at once, as a bulk rewrite or a writer going flat out makes: the follower keeps up.
        var (bulk, _) = await ShipAsync(app, "UPDATE item SET body = CAST(substr(body, 1, 399) || x'5b' AS BLOB)");
        Assert.True(bulk.Count > StreamJournal.ChangesUpTo, $"{bulk.Count} pages");
        Assert.All(bulk, p => Assert.Null(p.Check));

        var (few, _) = await ShipAsync(app, "UPDATE item SET body = CAST(substr(body, 1, 399) || x'5c' AS BLOB) WHERE id % 27 = 0");
        Assert.InRange(few.Count, 100, StreamJournal.ChangesUpTo);
        Assert.All(few, p => Assert.NotNull(p.Check));
        Assert.Equal(app.Digest(), FollowedApp.Digest(await app.Sandbox.RestoreAsync()));
    }

    [Fact]
    public async Task Transactions_stored_in_the_first_format_still_restore()
    {
        using var app = new FollowedApp();
        await app.RestartFollowerAsync();
        var (whole, _) = await ShipAsync(app, OneByteInEveryNinthRow);
        Assert.All(whole, p => Assert.Null(p.Check));

        // Every page whole, as the first format ("CSR1") stored them, and carried on in that format.
        RewriteLastSegment(app, records => records.Select(r => r with { Format = 1 }));

        Assert.All(StreamSegment.Records(app.Generation.Segments()[^1].Path, 4096), r => Assert.Equal(1, r.Format));
        Assert.Equal(app.Digest(), FollowedApp.Digest(await app.Sandbox.RestoreAsync()));
    }

    /// <summary>The newest segment written again, through the seal's own checks, with the records <paramref name="change"/> makes of its own.</summary>
    private static void RewriteLastSegment(FollowedApp app, Func<List<StreamRecord>, IEnumerable<StreamRecord>> change)
    {
        var generation = app.Generation;
        var segment = generation.Segments()[^1];
        using var bytes = new MemoryStream();
        foreach (var record in change(StreamSegment.Records(segment.Path, 4096).ToList()))
        {
            record.WriteTo(bytes, 4096);
        }

        File.Delete(segment.Path);
        bytes.Position = 0;
        StreamSegment.Write(generation, segment.First, segment.Last, bytes, Ct);
    }

    /// <summary>
    /// Over 1000 frames shipped: the follower checkpoints and the app's next commit starts the WAL over, so every page's
    /// version before the next change is in the database file only. Sealed, so the next segment holds only what follows.
    /// </summary>
    private static async Task WalStartsOverAsync(FollowedApp app)
    {
        for (var i = 0; i < 5; i++)
        {
            app.Execute("UPDATE item SET body = randomblob(400)");
            await app.Follower.StepAsync(Ct);
        }

        app.Execute("UPDATE item SET body = randomblob(400) WHERE id = 1");
        await app.Follower.StepAsync(Ct);
        app.Follower.Seal(Ct);
    }

    /// <summary>Runs <paramref name="sql"/> as the app, ships and seals it; returns the pages of the segment sealed and its size.</summary>
    private static async Task<(List<RecordPage> Pages, long Stored)> ShipAsync(FollowedApp app, string sql)
    {
        app.Execute(sql);
        await app.Follower.StepAsync(Ct);
        app.Follower.Seal(Ct);
        var segment = app.Generation.Segments()[^1];
        return ([.. StreamSegment.Records(segment.Path, 4096).SelectMany(r => r.Pages)], new FileInfo(segment.Path).Length);
    }
}

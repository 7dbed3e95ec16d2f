using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Cellar.Tests.Cli;
using Cellar.Tests.Offsite;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// A stream copied to a real S3-compatible server (s3rver on loopback) and restored from it on a machine that has
/// nothing else: at its newest point, at a moment, after the destination was down, and never from a damaged object.
/// </summary>
public sealed class StreamOffsiteTests
{
    [Fact]
    public async Task A_stream_restores_from_the_bucket_alone_at_its_newest_point_and_at_a_moment()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        using var app = sandbox.OpenApp();

        var first = await WriteAndRunAsync(sandbox, ct);
        var between = TimeProvider.System.GetUtcNow();
        var second = await WriteAndRunAsync(sandbox, ct);
        Assert.True(second > first);

        // What is in the bucket is sealed: the manifest opens only with the key, the segments are encrypted.
        using (var store = new Cellar.Core.Storage.S3ObjectStore(server.Options("cellar/")))
        {
            var keys = new List<string>();
            await foreach (var item in store.ListAsync("", ct))
            {
                keys.Add(item.Key);
            }

            Assert.Contains(keys, k => k.EndsWith("/generation.json.enc", StringComparison.Ordinal));
            Assert.Contains(keys, k => k.Contains("/base-", StringComparison.Ordinal) && k.EndsWith(".sqlite.zst.json", StringComparison.Ordinal));
            Assert.All(keys.Where(k => k.Contains(".segment.zst", StringComparison.Ordinal)), k => Assert.EndsWith(".segment.zst.enc", k));
        }

        var status = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "status");
        Assert.Contains("offsite spaces (stream live): up to date", status.Stdout, StringComparison.Ordinal);

        // The key rotated since: what was sent under the previous one still restores with it.
        File.Move(sandbox.Combine("offsite.key"), sandbox.Combine("previous.key"));
        OffsiteSandbox.WriteKey(sandbox.Combine("offsite.key"));
        var config = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, ct))!;
        config["previousEncryptionKeyFiles"] = new System.Text.Json.Nodes.JsonArray(sandbox.Combine("previous.key"));
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), ct);

        LoseTheMachine(sandbox);
        Assert.Equal(second, StreamSandbox.ParentsIn(await RestoreFromAsync(sandbox, "latest.sqlite", "--latest", "live")));
        Assert.Equal(first, StreamSandbox.ParentsIn(await RestoreFromAsync(sandbox, "between.sqlite", "--job", "live", "--at", between.ToString("O"))));
    }

    [Fact]
    public async Task A_destination_down_for_a_while_is_caught_up_with_no_gap()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        sandbox.OpenApp().Dispose();
        var job = sandbox.Job;
        var uploader = new StreamUploader(ConfigLoader.Load(sandbox.ConfigPath), TimeProvider.System, new Microsoft.Extensions.Logging.LoggerFactory([sandbox.Log]));
        var (stop, following) = sandbox.Follow();
        var uploading = Task.Run(() => uploader.RunAsync(job, null, stop.Token), ct);
        long lastN;
        try
        {
            var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 200, ct);
            await Task.Delay(1500, ct);
            await server.StopAsync();
            var down = System.Diagnostics.Stopwatch.StartNew();
            while (!uploader.States.Any(s => s.LastError is not null && s.OldestPending is not null))
            {
                Assert.True(down.Elapsed < TimeSpan.FromSeconds(20), $"the outage was never noticed: {string.Join(", ", uploader.States)}\n{string.Join("\n", sandbox.Log.Entries.Select(e => e.Message))}");
                await Task.Delay(100, ct);
            }

            await Task.Delay(2000, ct);
            await server.RestartAsync(ct);
            lastN = (await writer.StopAsync(ct)).LastN;
            await writer.DisposeAsync();
            await sandbox.WaitForShippedAsync(lastN, ct);

            // Caught up: the destination confirms the stream's last transaction.
            var generation = Generation.List(job.Folder)[^1];
            var newest = StreamHistory.After(generation, 0).Last().Txid;
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (StreamLedger.Load(job, job.Database.Offsite[0]).File is var ledger && (ledger.Generation != generation.Id || ledger.Txid != newest))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"offsite holds transaction {ledger.Txid} of {newest} 20 s after the outage");
                await Task.Delay(200, ct);
            }

            // ... and says so once the pass that confirmed it has reported.
            while (!uploader.States.Any(s => s.LastError is null && s.OldestPending is null))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"still reported behind: {string.Join(", ", uploader.States)}");
                await Task.Delay(100, ct);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await following;
            await uploading;
        }

        LoseTheMachine(sandbox);
        Assert.Equal(lastN, StreamSandbox.ParentsIn(await RestoreFromAsync(sandbox, "restored.sqlite", "--latest", "live")));
    }

    [Fact]
    public async Task A_stream_that_cannot_reach_its_destination_is_unhealthy_after_five_minutes_and_healthy_once_copied()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        using var app = sandbox.OpenApp();
        await server.StopAsync();

        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 300, ct);
        await Task.Delay(500, ct);
        await writer.StopAsync(ct);
        await writer.DisposeAsync();
        var failed = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        Assert.True(failed.ExitCode == 1 && failed.Stderr.Contains("live: offsite spaces: ", StringComparison.Ordinal), failed.ToString());

        var config = ConfigLoader.Load(sandbox.ConfigPath);
        var later = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(6));
        Assert.Contains(Cellar.Daemon.BackupHealth.Of(config, later).Reasons, r => r.StartsWith("offsite spaces (stream live): transactions waiting for", StringComparison.Ordinal));

        await server.RestartAsync(ct);
        await WriteAndRunAsync(sandbox, ct);
        Assert.DoesNotContain(Cellar.Daemon.BackupHealth.Of(config, later).Reasons, r => r.StartsWith("offsite spaces", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("flipped")]
    [InlineData("moved")]
    public async Task A_segment_changed_or_moved_in_the_bucket_is_refused_and_nothing_is_restored(string change)
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        using var app = sandbox.OpenApp();
        await WriteAndRunAsync(sandbox, ct);
        await WriteAndRunAsync(sandbox, ct);

        // Someone who can write to the bucket, without the key, flips one bit of the segment, or moves it (a whole,
        // sealed object of Cellar's) to a name that claims one transaction less.
        string key;
        using (var store = new Cellar.Core.Storage.S3ObjectStore(server.Options("cellar/")))
        {
            var segments = new List<string>();
            await foreach (var item in store.ListAsync("", ct))
            {
                if (item.Key.EndsWith(".segment.zst.enc", StringComparison.Ordinal))
                {
                    segments.Add(item.Key);
                }
            }

            Assert.True(segments.Count == 1, $"segments offsite: {string.Join(", ", segments)}");
            var bytes = await Cellar.Core.Storage.SmallObjects.ReadSmallAsync(store, segments[0], ct);
            var (first, last) = Generation.SegmentRange(RemoteLayout.PlainKey(segments[0][(segments[0].LastIndexOf('/') + 1)..]))!.Value;
            key = change == "flipped" ? segments[0] : segments[0].Replace($"-{last:x16}.", $"-{last - 1:x16}.", StringComparison.Ordinal);
            if (change == "flipped")
            {
                bytes[^40] ^= 1;
            }
            else
            {
                await store.DeleteAsync(segments[0], ct);
            }

            await store.PutAsync(key, new MemoryStream(bytes), bytes.Length, ct);
        }

        LoseTheMachine(sandbox);
        var target = sandbox.Combine("restored.sqlite");
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "restore", "--latest", "live", "--from", "spaces", "--to", target);
        var range = Generation.SegmentRange(RemoteLayout.PlainKey(key[(key.LastIndexOf('/') + 1)..]))!.Value;
        var why = change == "flipped"
            ? "segment.zst.enc: chunk 0 failed authentication"
            : $"{key}: it is not the segment its name says (generation {key.Split('/')[^2]}, transactions {range.First} to {range.Last})";
        Assert.True(run.ExitCode == 1 && run.StderrLines[^1].Contains(why, StringComparison.Ordinal), run.ToString());
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task A_new_generation_is_what_the_destination_waits_for_until_it_is_copied_and_then_restores_from_the_bucket()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        sandbox.OpenApp().Dispose();
        await WriteAndRunAsync(sandbox, ct);

        // The database is replaced, and the follower begins a new generation before any upload has seen it: the
        // destination lacks it from the moment it began.
        sandbox.ReplaceDatabase();
        var pass = await new StreamRunner(TimeProvider.System, TimeZoneInfo.Utc, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CatchUpAsync(sandbox.Job, ct);
        Assert.True(pass.NewGeneration, "the replaced database did not begin a new generation");
        var config = ConfigLoader.Load(sandbox.ConfigPath);
        var later = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(6));
        Assert.Contains(Cellar.Daemon.BackupHealth.Of(config, later).Reasons, r => r.StartsWith("offsite spaces (stream live): transactions waiting for", StringComparison.Ordinal));

        var last = await WriteAndRunAsync(sandbox, ct);
        Assert.DoesNotContain(Cellar.Daemon.BackupHealth.Of(config, later).Reasons, r => r.StartsWith("offsite spaces", StringComparison.Ordinal));
        LoseTheMachine(sandbox);
        var restored = await RestoreFromAsync(sandbox, "restored.sqlite", "--latest", "live");
        Assert.Equal(1, StreamSandbox.Rows(restored, "replaced"));
        Assert.Equal(last, StreamSandbox.ParentsIn(restored));
    }

    [Fact]
    public async Task The_destination_keeps_the_same_window_as_the_jobs_folder()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FakeClockRig.StartAsync("CREATE TABLE item(id INTEGER PRIMARY KEY)", "INSERT INTO item DEFAULT VALUES");
        for (var day = 0; day < 10; day++)
        {
            await rig.StepAsync(insert: true, TimeSpan.FromDays(1));
            await rig.StepAsync(insert: false, TimeSpan.Zero); // the day's base, and local retention
        }

        // The bucket holds the bases the folder holds, and no segment the window no longer needs.
        var generation = Generation.List(rig.Job.Folder)[^1];
        var local = StreamHistory.Bases(generation).Select(b => Path.GetFileName(b.Path)).ToHashSet();
        var remote = (await RemoteStream.GenerationsAsync(rig.Store, rig.Job, ct))[generation.Id];
        Assert.Equal(local.Order(), remote.Select(RemoteLayout.PlainKey).Where(n => Generation.BaseTxid(n) is not null).Order());
        var anchor = StreamHistory.Bases(generation)[0].Txid;
        Assert.All(remote.Select(RemoteLayout.PlainKey).Select(Generation.SegmentRange).OfType<(long First, long Last)>(), r => Assert.True(r.Last > anchor, $"segment up to {r.Last} outlived the anchor at {anchor}"));
        Assert.True(local.Count >= 8, $"{local.Count} bases");

        LoseTheMachine(rig.Sandbox);
        Assert.Equal(10, StreamSandbox.Rows(await RestoreFromAsync(rig.Sandbox, "restored.sqlite", "--latest", "live"), "item"));
    }

    [Fact]
    public async Task Second_by_second_objects_are_merged_into_one_and_the_bucket_restores_the_same()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FakeClockRig.StartAsync("CREATE TABLE item(id INTEGER PRIMARY KEY, b BLOB)", "INSERT INTO item(b) VALUES (randomblob(3000))");
        for (var second = 0; second < 30; second++)
        {
            await rig.StepAsync(insert: true, TimeSpan.FromSeconds(1));
        }

        async Task<List<(long First, long Last)>> SegmentsAsync() =>
            [.. (await RemoteStream.GenerationsAsync(rig.Store, rig.Job, ct)).Single().Value.Select(n => Generation.SegmentRange(RemoteLayout.PlainKey(n))).OfType<(long First, long Last)>()];
        Assert.True((await SegmentsAsync()).Count >= 28);

        rig.Clock.Advance(TimeSpan.FromMinutes(10));
        await rig.Upload.PassAsync(ct);
        Assert.Equal([(1L, 29L)], await SegmentsAsync()); // the first insert is in the base

        LoseTheMachine(rig.Sandbox);
        Assert.Equal(30, StreamSandbox.Rows(await RestoreFromAsync(rig.Sandbox, "restored.sqlite", "--latest", "live"), "item"));
    }

    [Fact]
    public async Task Bases_of_changed_pages_go_to_the_bucket_and_restore_from_it_alone_at_every_point()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FakeClockRig.StartAsync(
            "CREATE TABLE item(id INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) INSERT INTO item(b) SELECT randomblob(3000) FROM n",
            "INSERT INTO item(b) VALUES (randomblob(3000))");
        var days = new List<DateTimeOffset>();
        for (var day = 0; day < 4; day++)
        {
            await rig.StepAsync(insert: true, TimeSpan.FromDays(1));
            days.Add(rig.Clock.GetUtcNow());
            await rig.StepAsync(insert: false, TimeSpan.FromHours(1)); // the day's base, an hour before the next insert
        }

        var generation = Generation.List(rig.Job.Folder)[^1];
        var bases = StreamHistory.Bases(generation);
        // The first day's insert went into the generation's first base, so that day takes no base of its own.
        Assert.True(bases.Count == 4 && bases[0].Full && bases.Skip(1).All(b => !b.Full), string.Join(", ", bases.Select(b => Path.GetFileName(b.Path))));
        var remote = (await RemoteStream.GenerationsAsync(rig.Store, rig.Job, ct))[generation.Id].Select(RemoteLayout.PlainKey).ToHashSet();
        Assert.All(bases, b => Assert.Contains(Path.GetFileName(b.Path), remote));

        LoseTheMachine(rig.Sandbox);
        Assert.Equal(604, StreamSandbox.Rows(await RestoreFromAsync(rig.Sandbox, "latest.sqlite", "--latest", "live"), "item"));
        Assert.Equal(602, StreamSandbox.Rows(await RestoreFromAsync(rig.Sandbox, "day2.sqlite", "--job", "live", "--at", days[1].ToString("O")), "item"));
    }

    [Fact]
    public async Task The_offsite_lag_climbs_minute_by_minute_while_the_destination_is_down_and_falls_once_it_is_caught_up()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FakeClockRig.StartAsync("CREATE TABLE item(id INTEGER PRIMARY KEY)", "INSERT INTO item DEFAULT VALUES");
        await rig.StepAsync(insert: true, TimeSpan.FromMinutes(1)); // 12:00, copied at once
        await rig.Server.StopAsync();
        for (var minute = 1; minute <= 3; minute++)
        {
            rig.Insert.ExecuteNonQuery();
            await rig.Follower.StepAsync(ct);
            rig.Follower.WaitForBackground();
            rig.Follower.Seal(ct);
            await Assert.ThrowsAnyAsync<Exception>(() => rig.Upload.PassAsync(ct));
            rig.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        await rig.Server.RestartAsync(ct);
        await rig.StepAsync(insert: true, TimeSpan.FromMinutes(1)); // 12:04: caught up; the 12:01 commit waited 3 min
        await rig.StepAsync(insert: false, TimeSpan.FromMinutes(1));
        await rig.StepAsync(insert: false, TimeSpan.Zero);

        var lag = StreamLag.Read(StreamLag.PathOf(rig.Job, rig.Job.Database.Offsite[0]), DateTimeOffset.MinValue, 100);
        Assert.Equal(["12:00 0", "12:01 0", "12:02 60", "12:03 120", "12:04 180", "12:05 0"], lag.Select(p => $"{p.At:HH:mm} {p.Seconds}"));
    }

    /// <summary>A writer commits for a second; then <c>cellar run live</c> ships it and copies it offsite. Returns the writer's last parent.</summary>
    private static async Task<long> WriteAndRunAsync(StreamSandbox sandbox, CancellationToken ct)
    {
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 300, ct);
        await Task.Delay(1000, ct);
        var stats = await writer.StopAsync(ct);
        await writer.DisposeAsync();
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
        Assert.True(run.ExitCode == 0 && !run.Stderr.Contains("warning", StringComparison.OrdinalIgnoreCase), run.ToString());
        return stats.LastN;
    }

    /// <summary>The server's disk is gone: the stream's folder and the offsite ledgers with it (the database is left, to compare with).</summary>
    private static void LoseTheMachine(StreamSandbox sandbox)
    {
        Directory.Delete(sandbox.Job.Folder, recursive: true);
        Directory.Delete(OffsiteLedger.FolderOf(sandbox.Job.Database), recursive: true);
    }

    private static async Task<string> RestoreFromAsync(StreamSandbox sandbox, string name, params string[] choice)
    {
        var target = sandbox.Combine(name);
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, ["restore", .. choice, "--from", "spaces", "--to", target]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return target;
    }

    /// <summary>
    /// A stream job with the destination on s3rver, followed and copied in this process on a fake clock: the app's
    /// connection (with <c>Insert</c> ready to run), the follower and the upload, stepped by the test.
    /// </summary>
    private sealed class FakeClockRig : IAsyncDisposable
    {
        private S3Server _server = null!;
        private Microsoft.Data.Sqlite.SqliteConnection _app = null!;

        public StreamSandbox Sandbox { get; } = new();

        /// <summary>The destination's server, for the test to take down.</summary>
        public S3Server Server => _server;

        public Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));

        public Microsoft.Data.Sqlite.SqliteCommand Insert { get; private set; } = null!;

        public StreamJob Job { get; private set; } = null!;

        public Cellar.Core.Storage.S3ObjectStore Store { get; private set; } = null!;

        public StreamUpload Upload { get; private set; } = null!;

        public WalFollower Follower { get; private set; } = null!;

        /// <summary>The app inserts a row (when <paramref name="insert"/>), the follower ships and seals, the upload copies; then the clock moves on by <paramref name="then"/>.</summary>
        public async Task StepAsync(bool insert, TimeSpan then)
        {
            var ct = TestContext.Current.CancellationToken;
            if (insert)
            {
                Insert.ExecuteNonQuery();
            }

            await Follower.StepAsync(ct);
            Follower.WaitForBackground();
            Follower.Seal(ct);
            await Upload.PassAsync(ct);
            Clock.Advance(then);
        }

        public static async Task<FakeClockRig> StartAsync(string schema, string insert)
        {
            var rig = new FakeClockRig();
            var ct = TestContext.Current.CancellationToken;
            rig._server = await S3Server.StartAsync(ct);
            await rig.Sandbox.AddOffsiteAsync(rig._server, ct);
            rig._app = rig.Sandbox.OpenApp();
            rig.Insert = rig._app.CreateCommand();
            rig.Insert.CommandText = schema;
            rig.Insert.ExecuteNonQuery();
            rig.Insert.CommandText = insert;
            var config = ConfigLoader.Load(rig.Sandbox.ConfigPath);
            rig.Job = (StreamJob)config.FindJob("live");
            // One quick retry: a test that takes the server down fails its passes at once, not after a minute of backing off.
            rig.Store = new Cellar.Core.Storage.S3ObjectStore(rig._server.Options("cellar/") with { Retries = 1 }, retryDelay: TimeSpan.FromMilliseconds(10));
            var quiet = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            rig.Upload = new StreamUpload(rig.Job, rig.Job.Database.Offsite[0], rig.Store, OffsiteKey.Load(config), rig.Clock, quiet);
            rig.Follower = new WalFollower(rig.Job, rig.Clock, TimeZoneInfo.Utc, quiet);
            return rig;
        }

        public async ValueTask DisposeAsync()
        {
            Follower.Dispose();
            Store.Dispose();
            Insert.Dispose();
            _app.Dispose();
            await _server.DisposeAsync();
            Sandbox.Dispose();
        }
    }
}

using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Replication;
using Cellar.Tests.Cli;
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
        var uploading = Task.Run(() => uploader.RunAsync(job, stop.Token), ct);
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

            Assert.Contains(uploader.States, s => s.LastError is null && s.OldestPending is null);
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
    public async Task A_segment_changed_in_the_bucket_is_refused_and_nothing_is_restored()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        using var app = sandbox.OpenApp();
        await WriteAndRunAsync(sandbox, ct);
        await WriteAndRunAsync(sandbox, ct);

        // Someone who can write to the bucket, without the key, flips one bit of a segment.
        using (var store = new Cellar.Core.Storage.S3ObjectStore(server.Options("cellar/")))
        {
            string? segment = null;
            await foreach (var item in store.ListAsync("", ct))
            {
                segment = item.Key.EndsWith(".segment.zst.enc", StringComparison.Ordinal) ? item.Key : segment;
            }

            Assert.True(segment is not null, "no segment went offsite");
            var bytes = await Cellar.Core.Storage.SmallObjects.ReadSmallAsync(store, segment, ct);
            bytes[^40] ^= 1;
            await store.PutAsync(segment, new MemoryStream(bytes), bytes.Length, ct);
        }

        LoseTheMachine(sandbox);
        var target = sandbox.Combine("restored.sqlite");
        var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "restore", "--latest", "live", "--from", "spaces", "--to", target);
        Assert.True(run.ExitCode == 1 && run.StderrLines[^1].Contains("segment.zst.enc: chunk 0 failed authentication", StringComparison.Ordinal), run.ToString());
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task The_destination_keeps_the_same_window_as_the_jobs_folder()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        using var app = sandbox.OpenApp();
        using (var create = app.CreateCommand())
        {
            create.CommandText = "CREATE TABLE item(id INTEGER PRIMARY KEY)";
            create.ExecuteNonQuery();
        }

        var config = ConfigLoader.Load(sandbox.ConfigPath);
        var job = (StreamJob)config.FindJob("live");
        using var store = new Cellar.Core.Storage.S3ObjectStore(server.Options("cellar/"));
        var upload = new StreamUpload(job, job.Database.Offsite[0], store, OffsiteKey.Load(config), clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using (var follower = new WalFollower(job, clock, TimeZoneInfo.Utc, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        {
            for (var day = 0; day < 10; day++)
            {
                using (var insert = app.CreateCommand())
                {
                    insert.CommandText = "INSERT INTO item DEFAULT VALUES";
                    insert.ExecuteNonQuery();
                }

                await follower.StepAsync(ct);
                follower.Seal(ct);
                await upload.PassAsync(ct);
                clock.Advance(TimeSpan.FromDays(1));
                await follower.StepAsync(ct); // the day's base, and local retention
                await upload.PassAsync(ct);
            }
        }

        // The bucket holds the bases the folder holds, and no segment the window no longer needs.
        var generation = Generation.List(job.Folder)[^1];
        var local = StreamHistory.Bases(generation).Select(b => Path.GetFileName(b.Path)).ToHashSet();
        var remote = (await RemoteStream.GenerationsAsync(store, job, ct))[generation.Id];
        Assert.Equal(local.Order(), remote.Select(RemoteLayout.PlainKey).Where(n => Generation.BaseTxid(n) is not null).Order());
        var anchor = StreamHistory.Bases(generation)[0].Txid;
        Assert.All(remote.Select(RemoteLayout.PlainKey).Select(Generation.SegmentRange).OfType<(long First, long Last)>(), r => Assert.True(r.Last > anchor, $"segment up to {r.Last} outlived the anchor at {anchor}"));
        Assert.True(local.Count >= 8, $"{local.Count} bases");

        LoseTheMachine(sandbox);
        Assert.Equal(10, StreamSandbox.Rows(await RestoreFromAsync(sandbox, "restored.sqlite", "--latest", "live"), "item"));
    }

    [Fact]
    public async Task Second_by_second_objects_are_merged_into_one_and_the_bucket_restores_the_same()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await using var server = await S3Server.StartAsync(ct);
        await sandbox.AddOffsiteAsync(server, ct);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        using var app = sandbox.OpenApp();
        using var insert = app.CreateCommand();
        insert.CommandText = "CREATE TABLE item(id INTEGER PRIMARY KEY, b BLOB)";
        insert.ExecuteNonQuery();
        insert.CommandText = "INSERT INTO item(b) VALUES (randomblob(3000))";

        var config = ConfigLoader.Load(sandbox.ConfigPath);
        var job = (StreamJob)config.FindJob("live");
        using var store = new Cellar.Core.Storage.S3ObjectStore(server.Options("cellar/"));
        var upload = new StreamUpload(job, job.Database.Offsite[0], store, OffsiteKey.Load(config), clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var follower = new WalFollower(job, clock, TimeZoneInfo.Utc, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        for (var second = 0; second < 30; second++)
        {
            insert.ExecuteNonQuery();
            await follower.StepAsync(ct);
            await upload.PassAsync(ct);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        async Task<List<(long First, long Last)>> SegmentsAsync() =>
            [.. (await RemoteStream.GenerationsAsync(store, job, ct)).Single().Value.Select(n => Generation.SegmentRange(RemoteLayout.PlainKey(n))).OfType<(long First, long Last)>()];
        Assert.True((await SegmentsAsync()).Count >= 28);

        clock.Advance(TimeSpan.FromMinutes(10));
        await upload.PassAsync(ct);
        Assert.Equal([(1L, 29L)], await SegmentsAsync()); // the first insert is in the base

        LoseTheMachine(sandbox);
        Assert.Equal(30, StreamSandbox.Rows(await RestoreFromAsync(sandbox, "restored.sqlite", "--latest", "live"), "item"));
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
}

using System.Text.Json.Nodes;
using System.Threading.Channels;
using Cellar.Core.Configuration;
using Cellar.Core.Scheduling;
using Cellar.Core.Status;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Scheduling;

/// <summary>The scheduler against a fake clock: when jobs fire, across DST, after an outage, and never overlapping.</summary>
public sealed class JobSchedulerTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly Channel<(string Job, DateTimeOffset At)> _fired = Channel.CreateUnbounded<(string, DateTimeOffset)>();
    private FakeTimeProvider _clock = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_2am_job_in_Berlin_fires_once_on_each_DST_transition_day()
    {
        var config = Config("Europe/Berlin", ("daily", "0 2 * * *"));

        // Spring: 02:00 does not exist on 2026-03-29; Cronos fires at the change, 03:00 CEST (01:00 UTC).
        await using (var scheduler = Start(config, new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero)))
        {
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 0, 59, 0, TimeSpan.Zero));
            Assert.Empty(Drain());
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero));
            Assert.Equal([new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 21, 59, 0, TimeSpan.Zero));
            Assert.Empty(Drain());
        }

        // Autumn: 02:00 happens twice on 2026-10-25 (00:00 and 01:00 UTC); the job runs once, at the first.
        await using (var scheduler = Start(config, new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero)))
        {
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 0, 0, 0, TimeSpan.Zero));
            Assert.Equal([new DateTimeOffset(2026, 10, 25, 0, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 1, 30, 0, TimeSpan.Zero));
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 22, 59, 0, TimeSpan.Zero));
            Assert.Empty(Drain());
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 26, 1, 0, 0, TimeSpan.Zero));
            Assert.Equal([new DateTimeOffset(2026, 10, 26, 1, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
        }
    }

    [Fact]
    public async Task A_weekly_job_fires_on_Sunday_at_3()
    {
        var config = Config("UTC", ("social", "0 3 * * 0"));
        await using var scheduler = Start(config, new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

        await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 29, 2, 59, 0, TimeSpan.Zero));
        Assert.Empty(Drain());
        await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero));

        Assert.Equal([new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
        Assert.Equal(DayOfWeek.Sunday, new DateTime(2026, 11, 29).DayOfWeek);
    }

    [Fact]
    public async Task After_a_three_day_outage_each_missed_job_runs_once_at_start()
    {
        var now = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
        var config = Config("UTC", ("daily", "0 2 * * *"), ("hourly", "0 * * * *"), ("fresh", "0 2 * * *"));
        foreach (var name in new[] { "daily", "hourly" })
        {
            var folder = config.FindJob(name).Folder;
            Directory.CreateDirectory(folder);
            JobState.Record(folder, now.AddDays(-3), failure: null);
        }

        await using var scheduler = Start(config, now);

        var fired = await FiresAsync(2);
        Assert.Equal(["daily", "hourly"], fired.Select(f => f.Job).Order());
        Assert.All(fired, f => Assert.Equal(now, f.At));
        await scheduler.AdvanceToAsync(now.AddMinutes(59));
        Assert.Empty(Drain()); // "fresh" never ran here: it waits for its schedule instead of catching up
    }

    [Fact]
    public async Task A_job_that_outlasts_its_period_never_overlaps_itself()
    {
        var config = Config("UTC", ("slow", "* * * * *"));
        var running = 0;
        var most = 0;
        var runs = 0;
        await using var scheduler = Start(config, new DateTimeOffset(2026, 11, 26, 9, 0, 30, TimeSpan.Zero), async (_, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            Interlocked.Increment(ref runs);
            await Task.Delay(TimeSpan.FromSeconds(150), _clock, ct); // an injected slow run: 2.5 periods
            Interlocked.Decrement(ref running);
        });

        for (var minute = 1; minute <= 10; minute++)
        {
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 26, 9, minute, 30, TimeSpan.Zero));
        }

        Assert.Equal(1, most);
        Assert.InRange(runs, 2, 5); // about one every 2.5 minutes, the rest coalesced while one was waiting
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private List<(string Job, DateTimeOffset At)> Drain()
    {
        var list = new List<(string, DateTimeOffset)>();
        while (_fired.Reader.TryRead(out var fire))
        {
            list.Add(fire);
        }

        return list;
    }

    private async Task<List<(string Job, DateTimeOffset At)>> FiresAsync(int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var list = new List<(string, DateTimeOffset)>();
        while (list.Count < count)
        {
            list.Add(await _fired.Reader.ReadAsync(timeout.Token));
        }

        return list;
    }

    private async Task<List<DateTimeOffset>> FiresAsyncTimes(int count) => [.. (await FiresAsync(count)).Select(f => f.At)];

    private Running Start(CellarConfig config, DateTimeOffset now, Func<string, CancellationToken, Task>? work = null)
    {
        _clock = new FakeTimeProvider(now);
        var clock = _clock;
        var dispatcher = new JobDispatcher(
            async (job, _, ct) =>
            {
                _fired.Writer.TryWrite((job.Name, clock.GetUtcNow()));
                if (work is not null)
                {
                    await work(job.Name, ct);
                }

                return null;
            },
            maxParallelDatabases: 2,
            NullLogger<JobDispatcher>.Instance);
        var scheduler = new JobScheduler(config, dispatcher, clock, NullLogger<JobScheduler>.Instance);
        return new Running(scheduler, dispatcher, clock);
    }

    private CellarConfig Config(string zone, params (string Name, string Cron)[] jobs)
    {
        var list = new JsonObject();
        foreach (var (name, cron) in jobs)
        {
            list[name] = new JsonObject { ["type"] = "snapshot", ["schedule"] = cron, ["folder"] = name };
        }

        var settings = new JsonObject
        {
            ["database"] = _temp.Combine("app.db"),
            ["backupRoot"] = _temp.Combine("backups"),
            ["logDir"] = _temp.Combine("logs"),
            ["timeZone"] = zone,
            ["jobs"] = list,
        };
        var path = _temp.Combine($"cellar-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, settings.ToJsonString());
        return ConfigLoader.Load(path);
    }

    /// <summary>A scheduler running against the fake clock, stopped on dispose.</summary>
    private sealed class Running : IAsyncDisposable
    {
        private readonly JobScheduler _scheduler;
        private readonly JobDispatcher _dispatcher;
        private readonly FakeTimeProvider _clock;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Running(JobScheduler scheduler, JobDispatcher dispatcher, FakeTimeProvider clock)
        {
            _scheduler = scheduler;
            _dispatcher = dispatcher;
            _clock = clock;
            _loop = scheduler.RunAsync(_stop.Token);
        }

        /// <summary>Moves the clock to <paramref name="to"/>, then gives the scheduler a moment to act on any timer that fired.</summary>
        public async Task AdvanceToAsync(DateTimeOffset to)
        {
            var settled = _scheduler.Waiting;
            _clock.Advance(to - _clock.GetUtcNow());
            await Task.WhenAny(settled, Task.Delay(200, TestContext.Current.CancellationToken));
            await Task.Delay(20, TestContext.Current.CancellationToken); // let a run it queued start
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _clock.Advance(TimeSpan.FromHours(1)); // ends an injected slow run
            await _dispatcher.StopAsync(TimeSpan.FromSeconds(5));
            _dispatcher.Dispose();
            _stop.Dispose();
        }
    }
}

using System.Text.Json.Nodes;
using System.Threading.Channels;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
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
            Assert.Equal(0, scheduler.Fired);
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero));
            Assert.Equal(1, scheduler.Fired);
            Assert.Equal([new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 21, 59, 0, TimeSpan.Zero));
            Assert.Equal(1, scheduler.Fired);
        }

        // Autumn: 02:00 happens twice on 2026-10-25 (00:00 and 01:00 UTC); the job runs once, at the first.
        await using (var scheduler = Start(config, new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero)))
        {
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 0, 0, 0, TimeSpan.Zero));
            Assert.Equal([new DateTimeOffset(2026, 10, 25, 0, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 1, 30, 0, TimeSpan.Zero));
            Assert.Equal(1, scheduler.Fired);
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 22, 59, 0, TimeSpan.Zero));
            Assert.Equal(1, scheduler.Fired);
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 10, 26, 1, 0, 0, TimeSpan.Zero));
            Assert.Equal(2, scheduler.Fired);
            Assert.Equal([new DateTimeOffset(2026, 10, 26, 1, 0, 0, TimeSpan.Zero)], await FiresAsyncTimes(1));
        }
    }

    [Fact]
    public async Task A_weekly_job_fires_on_Sunday_at_3()
    {
        var config = Config("UTC", ("social", "0 3 * * 0"));
        await using var scheduler = Start(config, new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

        await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 29, 2, 59, 0, TimeSpan.Zero));
        Assert.Equal(0, scheduler.Fired);
        await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero));

        Assert.Equal(1, scheduler.Fired);
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
        Assert.Equal(2, scheduler.Fired); // "fresh" never ran here: it waits for its schedule instead of catching up
    }

    [Fact]
    public async Task A_job_that_outlasts_its_period_never_overlaps_itself()
    {
        var config = Config("UTC", ("slow", "* * * * *"));
        var running = 0;
        var most = 0;
        var runs = 0;
        Task? parked = null;
        await using var scheduler = Start(config, new DateTimeOffset(2026, 11, 26, 9, 0, 30, TimeSpan.Zero), async (_, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            Interlocked.Increment(ref runs);
            var slow = Task.Delay(TimeSpan.FromSeconds(150), _clock, ct); // an injected slow run: 2.5 periods
            Volatile.Write(ref parked, slow);
            await slow;
            Interlocked.Decrement(ref running);
        });

        for (var minute = 1; minute <= 10; minute++)
        {
            await scheduler.AdvanceToAsync(new DateTimeOffset(2026, 11, 26, 9, minute, 30, TimeSpan.Zero));

            // From the first fire on, a run is waiting whenever one ends: before the clock moves again, the next one must
            // be under way, so that a run let in beside it would be seen running.
            await Until(() => Volatile.Read(ref parked) is { IsCompleted: false }, $"a run of the slow job under way at 09:{minute:00}:30");
        }

        Assert.Equal(10, scheduler.Fired);
        Assert.Equal(1, most);

        // 09:01:30 to 09:04:00, 09:04:30 to 09:07:00, 09:07:30 to 09:10:00, 09:10:30: each starts at the first fire after
        // the one before ended; the fires in between fold into the run waiting behind it.
        Assert.Equal(4, runs);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds; fails the test naming <paramref name="what"/> after 10 s. It
    /// yields first even when the condition already holds: a worker the dispatcher started from this thread (the clock
    /// fires timers on the thread that moves it) waits in this thread's queue, and must get to run before the test moves
    /// on, or a run let in beside another would start only after the test had looked.
    /// </summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var started = TimeProvider.System.GetTimestamp();
        await Task.Yield();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"waited 10 s for {what}");
            }

            await Task.Delay(1, TestContext.Current.CancellationToken);
        }
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
            async (request, ct) =>
            {
                _fired.Writer.TryWrite((request.Job.Name, clock.GetUtcNow()));
                if (work is not null)
                {
                    await work(request.Job.Name, ct);
                }

                return new JobOutcome { Job = request.Job };
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

        /// <summary>Runs the scheduler has asked the queue for so far, as of its last pass.</summary>
        public long Fired => _scheduler.Idle!.Fired;

        /// <summary>Moves the clock to <paramref name="to"/>, then waits until the scheduler has acted on every timer that fired.</summary>
        public async Task AdvanceToAsync(DateTimeOffset to)
        {
            await SettledAsync();
            _clock.Advance(to - _clock.GetUtcNow());
            await SettledAsync();
        }

        /// <summary>
        /// Waits for the scheduler to be waiting for a time after the fake clock's: it has then fired everything due by
        /// now (a wake-up at or before now means a timer fired that it has not acted on yet).
        /// </summary>
        private Task SettledAsync() => Until(
            () => _scheduler.Idle is { } pass && !(pass.WakeAt <= _clock.GetUtcNow()),
            $"the scheduler to act on the clock at {_clock.GetUtcNow():u}");

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;

            // Stopping drops the runs still waiting before the clock jump ends an injected slow run: none starts after it.
            var stopped = _dispatcher.StopAsync(TimeSpan.FromSeconds(5));
            _clock.Advance(TimeSpan.FromHours(1));
            await stopped;
            _dispatcher.Dispose();
            _stop.Dispose();
        }
    }
}

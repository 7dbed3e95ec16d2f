using System.Diagnostics;
using Cellar.Core.Replication;
using Cellar.Tests.Daemon;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// <c>cellar serve</c> SIGKILLed again and again at random moments while the app writes: each restart goes on where
/// the last durable transaction left off (or, where that cannot be proven, begins a new generation), and in the end
/// every commit is restorable, each generation with no hole and no transaction twice.
/// </summary>
public sealed class StreamKillTests
{
    [Fact]
    public async Task Killed_twenty_times_under_load_it_catches_up_with_no_gap_and_no_duplicate()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await sandbox.ListenAsync(ct);
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 200, ct);
        var random = new Random(20);
        for (var i = 0; i < 20; i++)
        {
            using var daemon = await StartAsync(sandbox, ct);
            await Task.Delay(random.Next(300, 1500), ct);
            daemon.Kill();
            await daemon.WaitForExitAsync(ct);
        }

        using (var last = await StartAsync(sandbox, ct))
        {
            try
            {
                var stats = await writer.StopAsync(ct);
                await writer.DisposeAsync();
                var waited = Stopwatch.StartNew();
                while (await RestoredParentsAsync(sandbox) != stats.LastN)
                {
                    Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "the stream did not catch up within 20 s of the writer stopping");
                    await Task.Delay(200, ct);
                }
            }
            finally
            {
                last.Kill();
                await last.WaitForExitAsync(ct);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{Generation.List(sandbox.Job.Folder).Count} generation(s) after 20 kills");

        // Each generation reads from its first base to its end with no hole (a hole throws) and restores to one prefix.
        foreach (var generation in Generation.List(sandbox.Job.Folder))
        {
            var end = StreamHistory.After(generation, 0).LastOrDefault();
            if (end is not null)
            {
                StreamSandbox.ParentsIn(await sandbox.RestoreAsync(end.Committed));
            }
        }
    }

    /// <summary>
    /// The commits a restore of the newest point holds; -1 while nothing is restorable yet: on a loaded machine every
    /// daemon may have been killed before its generation's first base was written, and the last one is still writing it.
    /// </summary>
    private static async Task<long> RestoredParentsAsync(StreamSandbox sandbox)
    {
        try
        {
            return StreamSandbox.ParentsIn(await sandbox.RestoreAsync());
        }
        catch (Cellar.Core.CellarException e) when (e.Message.Contains("has nothing restorable yet", StringComparison.Ordinal))
        {
            return -1;
        }
    }

    private static async Task<Process> StartAsync(StreamSandbox sandbox, CancellationToken ct)
    {
        var daemon = CellarProcess.Start(["--config", sandbox.ConfigPath, "serve"]);
        _ = daemon.StandardError.ReadToEndAsync(ct);
        await ServeTests.ListeningAddressAsync(daemon, ct);
        return daemon;
    }
}

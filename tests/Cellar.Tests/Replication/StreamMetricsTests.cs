using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Cellar.Tests.Daemon;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>The daemon's /metrics shows each stream's lag, WAL size and last transaction while the app writes.</summary>
public sealed partial class StreamMetricsTests
{
    [Fact]
    public async Task Metrics_show_a_stream_caught_up_within_a_second_while_the_app_writes()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        await sandbox.ListenAsync(ct);
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 200, ct);
        using var daemon = CellarProcess.Start(["--config", sandbox.ConfigPath, "serve"]);
        _ = daemon.StandardError.ReadToEndAsync(ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await ServeTests.ListeningAddressAsync(daemon, ct)) };
            var waited = Stopwatch.StartNew();
            while (true)
            {
                var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
                if (Value(text, "cellar_stream_last_transaction") > 100)
                {
                    Assert.InRange(Value(text, "cellar_stream_lag_seconds"), 0, 1);
                    Assert.Equal(0, Value(text, "cellar_stream_failing"));
                    Assert.True(Value(text, "cellar_stream_wal_bytes") > 0);
                    break;
                }

                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "no stream metrics with 100 transactions shipped within 30 s:\n" + text);
                await Task.Delay(200, ct);
            }
        }
        finally
        {
            daemon.Kill();
            await daemon.WaitForExitAsync(ct);
            await writer.StopAsync(ct);
            await writer.DisposeAsync();
        }
    }

    private static double Value(string metrics, string name) =>
        Sample().Matches(metrics).Where(m => m.Groups["name"].Value == name && m.Groups["job"].Value == "live")
            .Select(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).First();

    [GeneratedRegex("""^(?<name>cellar_stream_\w+)\{job="(?<job>[^"]*)"\} (?<value>\S+)$""", RegexOptions.Multiline)]
    private static partial Regex Sample();
}

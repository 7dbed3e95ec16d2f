using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.IO;

/// <summary>
/// A backup file is fsynced every <see cref="SteadySyncStream.Interval"/> bytes as it is written, so the dirty pages
/// never pile up into one long final flush that the app's own commit fsyncs queue behind. The fsyncs are counted
/// through <see cref="FaultInjection.Fsync"/> (in this test's async flow only), which lets each one through.
/// </summary>
public sealed class SteadySyncStreamTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        FaultInjection.Fsync = null;
        _temp.Dispose();
    }

    [Fact]
    public async Task The_file_is_fsynced_each_time_another_interval_of_bytes_is_written_and_not_before()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = Path.Combine(_temp.Path, "backup.gz");
        var syncs = 0;
        FaultInjection.Fsync = synced =>
        {
            if (synced == path)
            {
                syncs++;
            }

            return 0;
        };
        var almost = new byte[SteadySyncStream.Interval - 1];
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        await using var stream = new SteadySyncStream(file);

        await stream.WriteAsync(almost, ct);
        Assert.Equal(0, syncs);
        stream.Write([1]);
        Assert.Equal(1, syncs);

        // The count starts again after each fsync: one byte short of the next interval is not synced yet.
        await stream.WriteAsync(almost, ct);
        Assert.Equal(1, syncs);
        await stream.WriteAsync(new byte[1], ct);
        Assert.Equal(2, syncs);
        Assert.Equal(2 * SteadySyncStream.Interval, new FileInfo(path).Length);
    }
}

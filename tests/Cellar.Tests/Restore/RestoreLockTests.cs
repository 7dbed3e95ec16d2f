using Cellar.Core;
using Cellar.Core.Restore;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>The lock that makes restores into one folder take turns: it creates nothing, and a wait has a bound.</summary>
public sealed class RestoreLockTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly RecordingLogger<RestoreLockTests> _log = new();

    [Fact]
    public async Task A_restore_kept_waiting_past_its_bound_gives_up_with_one_line_naming_the_folder()
    {
        var ct = TestContext.Current.CancellationToken;
        using var first = await RestoreLock.AcquireAsync(_temp.Path, TimeProvider.System, _log, ct);

        var error = await Assert.ThrowsAsync<CellarException>(() =>
            RestoreLock.AcquireAsync(_temp.Path, TimeProvider.System, _log, ct, TimeSpan.FromSeconds(2)));

        Assert.Equal($"another restore into {_temp.Path} has been running for more than 2 s; giving up, nothing was changed", error.Message);
        var notice = Assert.Single(_log.Entries).Message;
        Assert.StartsWith($"waiting for another restore into {_temp.Path} (", notice, StringComparison.Ordinal);
        Assert.EndsWith(") to finish; giving up after 2 s", notice, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }

    [Fact]
    public async Task The_folder_is_free_for_the_next_restore_once_the_lock_is_released()
    {
        var ct = TestContext.Current.CancellationToken;
        using (await RestoreLock.AcquireAsync(_temp.Path, TimeProvider.System, _log, ct))
        {
        }

        using var second = await RestoreLock.AcquireAsync(_temp.Path, TimeProvider.System, _log, ct, TimeSpan.Zero);

        Assert.Empty(_log.Entries);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }

    public void Dispose() => _temp.Dispose();
}

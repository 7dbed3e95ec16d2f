using Cellar.Core;
using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.IO;

public sealed class FolderLockTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_run_stuck_behind_a_held_folder_gives_up_with_one_line_instead_of_waiting_forever()
    {
        var ct = TestContext.Current.CancellationToken;
        using var held = await FolderLock.AcquireAsync(_temp.Path, TimeProvider.System, ct);

        var error = await Assert.ThrowsAsync<CellarException>(() => FolderLock.AcquireAsync(_temp.Path, TimeProvider.System, ct, TimeSpan.FromMilliseconds(300)));

        Assert.Contains(FolderLock.FileName, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task The_lock_passes_to_the_next_run_once_released()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = await FolderLock.AcquireAsync(_temp.Path, TimeProvider.System, ct);
        var second = FolderLock.AcquireAsync(_temp.Path, TimeProvider.System, ct);
        await Task.Delay(300, ct);
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var acquired = await second.WaitAsync(TimeSpan.FromSeconds(30), ct);
    }
}

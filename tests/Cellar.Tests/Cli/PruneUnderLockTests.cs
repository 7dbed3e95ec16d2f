using Cellar.Core;
using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// A run prunes while it still holds its folder's lock, as <c>cellar prune</c> does: retention outside the lock could
/// delete beside another run that is sweeping, listing or publishing in the same folder.
/// </summary>
public sealed class PruneUnderLockTests
{
    [Fact]
    public async Task A_run_holds_the_folder_lock_while_it_prunes()
    {
        CrashPoints.SkipUnlessHonoured();
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1L << 20);
        var folder = Path.Combine(sandbox.BackupRoot, "daily");

        var run = await CrashPoints.RunPausedAsync(["--config", sandbox.ConfigPath, "run", "daily"], CrashPoint.PruneStart, _ =>
        {
            // Paused where retention starts: the lock must still be the run's.
            var taken = Record.Exception(() => FolderLock.AcquireAsync(folder, TimeProvider.System, ct, TimeSpan.Zero).GetAwaiter().GetResult().Dispose());
            Assert.True(taken is CellarException, $"the folder's lock was free while the run was about to prune ({taken?.GetType().Name ?? "taken"})");
        });

        Assert.True(run.ExitCode == 0, $"the run failed after it was let go: {run}");
    }
}

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

        using var process = CellarProcess.Start(["--config", sandbox.ConfigPath, "run", "daily"], CrashPoints.PauseAt(CrashPoint.PruneStart));
        try
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await CrashPoints.WaitUntilPausedAsync(process, stderr, TimeSpan.FromSeconds(60), ct);

            // Paused where retention starts: the lock must still be the run's.
            var taken = await Record.ExceptionAsync(async () =>
            {
                using var stolen = await FolderLock.AcquireAsync(folder, TimeProvider.System, ct, TimeSpan.Zero);
            });
            Assert.True(taken is CellarException, $"the folder's lock was free while the run was about to prune ({taken?.GetType().Name ?? "taken"})");

            CrashPoints.Resume(process);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"the run failed after it was let go: {await stdout} {await stderr}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}

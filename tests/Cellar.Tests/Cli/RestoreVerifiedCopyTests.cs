using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// A restore moves into place the very file its check wrote, not whatever has that name by then: the target's folder is
/// the app's, and whoever can write there can swap the name between the check and the swap.
/// </summary>
public sealed class RestoreVerifiedCopyTests
{
    [Fact]
    public async Task A_verified_copy_replaced_before_the_swap_is_refused_even_by_a_file_with_the_same_bytes()
    {
        using var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var (_, target) = await sandbox.RestoreSceneAsync();
        var replaced = false;

        var run = await CrashPoints.RunPausedAsync(["--config", sandbox.ConfigPath, "restore", "--latest", "daily", "--to", target], CrashPoint.VerifyExpanded, _ =>
        {
            // The same bytes under a new inode: only the copy's identity, taken when the check created it, can tell.
            CliSandbox.ReplaceWithSameBytes(Assert.Single(TempFile.LeftFor(sandbox.Root, "app.sqlite")));
            replaced = true;
        }, hold: false);

        Assert.True(replaced);
        CliSandbox.AssertOneLineError(run, 1, "is no longer the verified copy");
        Assert.False(File.Exists(target));
        sandbox.AssertNothingRestored();
    }
}

using Cellar.Core.IO;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>
/// The checks a restore makes on names in the app's folder around its one rename: the verified copy must still be what
/// the check wrote just before the rename, and the target must name it just after; either swapped by someone else, the
/// restore stops and every step it made is undone (the previous database, with its <c>-wal</c>, as it was).
/// </summary>
public sealed class RestoreSwapGuardTests
{
    [Fact]
    public async Task A_copy_swapped_after_the_companions_moved_is_refused_and_the_old_database_keeps_its_wal()
    {
        CrashPoints.SkipUnlessHonoured();
        using var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var (_, target) = await sandbox.RestoreSceneAsync();

        // Not a database SQLite could fold its -wal into: the companion is moved aside as it is, and must come back.
        await File.WriteAllTextAsync(target, "the app's current database", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(target + "-wal", "its write-ahead log", TestContext.Current.CancellationToken);
        var before = CliSandbox.Fingerprint(sandbox.Root);
        var replaced = false;

        // Refused before the rename, not undone after it: nothing is ever renamed onto the app's name, even for a moment.
        using var watch = new FileSystemWatcher(sandbox.Root) { NotifyFilter = NotifyFilters.FileName };
        var renamedOnto = 0;
        var seen = new TaskCompletionSource();
        watch.Renamed += (_, e) => renamedOnto += e.Name == "app.sqlite" ? 1 : 0;
        watch.Created += (_, e) => _ = e.Name == "sentinel" && seen.TrySetResult();
        watch.EnableRaisingEvents = true;

        var run = await CrashPoints.RunPausedAsync(["--config", sandbox.ConfigPath, "restore", "--latest", "daily", "--to", target, "--force"], CrashPoint.RestoreCompanionsMoved, _ =>
        {
            CliSandbox.ReplaceWithSameBytes(Assert.Single(TempFile.LeftFor(sandbox.Root, "app.sqlite")));
            replaced = true;
        }, hold: false);

        Assert.True(replaced);
        CliSandbox.AssertOneLineError(run, 1, "is no longer the verified copy");
        var after = CliSandbox.Fingerprint(sandbox.Root);
        Assert.Equal(before["app.sqlite"], after.GetValueOrDefault("app.sqlite"));
        Assert.Equal(before["app.sqlite-wal"], after.GetValueOrDefault("app.sqlite-wal"));
        sandbox.AssertNothingRestored();
        await File.WriteAllBytesAsync(sandbox.Combine("sentinel"), [], TestContext.Current.CancellationToken);
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(0, renamedOnto);
    }

    [Fact]
    public async Task A_target_swapped_right_after_the_rename_is_refused_and_the_previous_database_put_back()
    {
        CrashPoints.SkipUnlessHonoured();
        using var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var (_, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true);
        using (var app = new SqliteConnection($"Data Source={target};Pooling=False"))
        {
            app.Open();
            using var mark = app.CreateCommand();
            mark.CommandText = "CREATE TABLE only_in_the_old_one(x)";
            mark.ExecuteNonQuery();
        }

        var old = CliSandbox.HashOf(target);
        var replaced = false;
        var run = await CrashPoints.RunPausedAsync(["--config", sandbox.ConfigPath, "restore", "--latest", "daily", "--to", target, "--force"], CrashPoint.RestoreSwapped, _ =>
        {
            CliSandbox.ReplaceWithSameBytes(target);
            replaced = true;
        }, hold: false);

        Assert.True(replaced);
        CliSandbox.AssertOneLineError(run, 1, "is no longer the verified copy");
        Assert.Equal(old, CliSandbox.HashOf(target));
    }
}

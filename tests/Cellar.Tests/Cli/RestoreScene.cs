using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// The arrange and the "nothing moved" check most restore tests share: one backup of the sandbox's database, and the
/// app's database at <c>app.sqlite</c> in the sandbox, the path a restore replaces.
/// </summary>
internal static class RestoreScene
{
    /// <summary>
    /// Backs up the sandbox's database with <paramref name="job"/> and names the target; with
    /// <paramref name="appHasDatabase"/> the app's database is there already (a copy of the one backed up).
    /// </summary>
    public static async Task<(string Backup, string Target)> RestoreSceneAsync(this CliSandbox sandbox, bool appHasDatabase = false, string job = "daily")
    {
        var backup = await sandbox.BackupAsync(job);
        var target = sandbox.Combine("app.sqlite");
        if (appHasDatabase)
        {
            File.Copy(sandbox.Database, target);
        }

        return (backup, target);
    }

    /// <summary>A refused or failed restore left no saved previous database and no temp file.</summary>
    public static void AssertNothingRestored(this CliSandbox sandbox)
    {
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }
}

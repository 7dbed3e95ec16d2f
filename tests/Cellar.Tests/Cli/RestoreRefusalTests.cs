using Cellar.Core.IO;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>cellar restore</c> refuses what would destroy data, with one line and nothing touched: a database an app writes
/// through another name.
/// </summary>
public sealed class RestoreRefusalTests
{
    private const long DatabaseBytes = 3 << 20;

    [Fact]
    public async Task Restore_over_a_database_an_app_writes_through_a_hard_link_is_refused_naming_the_app()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        await sandbox.BackupAsync();
        var target = sandbox.Combine("app.sqlite");
        File.Copy(sandbox.Database, target);

        // The app reaches the same file by another name, as through a bind mount of the folder.
        var elsewhere = sandbox.Combine("mounted");
        Directory.CreateDirectory(elsewhere);
        var link = Path.Combine(elsewhere, "app.sqlite");
        Assert.Equal(0, UnixFiles.Link(target, link));
        await using var writer = await LoadWriterProcess.StartAsync(link, "wal", 200, ct);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        CliSandbox.AssertOneLineError(run, 1, "open for writing", $"process {writer.Pid} ");
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "app.sqlite.pre-restore-*"));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
        var stats = await writer.StopAsync(ct);
        Assert.True(stats.Commits > 0);
        using var app = CliSandbox.Open(target);
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }
}

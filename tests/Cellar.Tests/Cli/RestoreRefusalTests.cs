using Cellar.Core.IO;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>cellar restore</c> refuses what would destroy data, with one line and nothing touched: a table choice that names
/// no table, a target that is not a regular file, a database an app writes through another name.
/// </summary>
public sealed class RestoreRefusalTests
{
    private const long DatabaseBytes = 3 << 20;

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData(" ")]
    [InlineData(" , ")]
    public async Task Restore_with_a_table_choice_that_names_no_table_is_a_usage_error_and_touches_nothing(string tables)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");

        // The app has changed since the dump; a restore of every dumped table would undo that.
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            CliSandbox.Scalar(app, "DELETE FROM comments");
        }

        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", tables);

        CliSandbox.AssertOneLineError(run, 2, "--tables", "names no table");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        Assert.Empty(Directory.EnumerateFiles(sandbox.Root, "portfolio.sqlite.pre-restore-*", SearchOption.AllDirectories));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_of_a_table_the_dump_lacks_is_a_usage_error_naming_what_it_holds_and_touches_nothing()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");
        var before = CliSandbox.HashOf(sandbox.Database);

        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "COMMENTS,nosuch");

        CliSandbox.AssertOneLineError(run, 2, "table 'nosuch' is not in", "it holds comments, likes");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
        CliSandbox.AssertNoTempFiles(sandbox.Root);
    }

    [Fact]
    public async Task Restore_of_a_table_whose_index_name_another_table_took_since_is_refused_naming_both()
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var dump = await sandbox.BackupAsync("social");

        // A migration since the dump moved the name of the comments index to an index of images.
        using (var app = CliSandbox.Open(sandbox.Database, readOnly: false))
        {
            CliSandbox.Scalar(app, "DROP INDEX idx_comments_image_id");
            CliSandbox.Scalar(app, "CREATE INDEX idx_comments_image_id ON images(id)");
        }

        var before = CliSandbox.HashOf(sandbox.Database);
        var run = await sandbox.CellarAsync("restore", dump, "--to", sandbox.Database, "--tables", "comments", "--no-safety-copy");

        CliSandbox.AssertOneLineError(run, 1, "cannot restore comments: its index idx_comments_image_id has the name of an index of table images", "nothing was changed");
        Assert.Equal(before, CliSandbox.HashOf(sandbox.Database));
    }

    [Theory]
    [InlineData("fifo", "daily")]
    [InlineData("fifo", "social")]
    [InlineData("character device", "daily")]
    [InlineData("character device", "social")]
    public async Task Restore_onto_a_fifo_or_a_device_node_is_refused_even_with_force_and_leaves_it_in_place(string kind, string job)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes, withSocial: true);
        var (backup, target) = await sandbox.RestoreSceneAsync(job: job);
        var before = await MakeNodeAsync(kind, target);

        var run = await sandbox.CellarAsync("restore", backup, "--to", target, "--force");

        CliSandbox.AssertOneLineError(run, 2, "not a regular file", kind);
        Assert.Equal(before, await DescribeAsync(target));
        sandbox.AssertNothingRestored();
    }

    [Fact]
    public async Task Restore_over_a_database_an_app_writes_through_a_hard_link_is_refused_naming_the_app()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var (_, target) = await sandbox.RestoreSceneAsync(appHasDatabase: true);

        // The app reaches the same file by another name, as through a bind mount of the folder.
        var elsewhere = sandbox.Combine("mounted");
        Directory.CreateDirectory(elsewhere);
        var link = Path.Combine(elsewhere, "app.sqlite");
        Assert.Equal(0, UnixFiles.Link(target, link));
        await using var writer = await LoadWriterProcess.StartAsync(link, "wal", 200, ct);

        var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");

        CliSandbox.AssertOneLineError(run, 1, "open for writing", $"process {writer.Pid} ");
        sandbox.AssertNothingRestored();
        var stats = await writer.StopAsync(ct);
        Assert.True(stats.Commits > 0);
        using var app = CliSandbox.Open(target);
        Assert.Equal(stats.LastN, CliSandbox.Scalar(app, "SELECT max(n) FROM parent"));
    }

    /// <summary>
    /// Makes a FIFO (mkfifo) or a character device (mknod, root only; numbers 1:3 as /dev/null's, but in the test's
    /// folder, never the machine's /dev) at <paramref name="path"/>; returns what <see cref="DescribeAsync"/> says of it.
    /// </summary>
    private static async Task<string> MakeNodeAsync(string kind, string path)
    {
        if (kind == "fifo")
        {
            var (exit, output) = await CliSandbox.ExecAsync("mkfifo", path);
            Assert.True(exit == 0, output);
        }
        else
        {
            Assert.SkipUnless(UnixFiles.IsRoot, "only root can make a device node (mknod)");
            var (exit, output) = await CliSandbox.ExecAsync("mknod", path, "c", "1", "3");
            Assert.SkipWhen(exit != 0, $"mknod is not allowed here: {output}");
        }

        return await DescribeAsync(path);
    }

    /// <summary>File type, device numbers and inode as stat(1) shows them.</summary>
    private static async Task<string> DescribeAsync(string path)
    {
        var (exit, output) = await CliSandbox.ExecAsync("stat", "-c", "%F %t:%T %i", path);
        Assert.True(exit == 0, output);
        return output;
    }
}

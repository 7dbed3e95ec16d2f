using Cellar.Core.IO;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Restore;

/// <summary>The libc calls a restore relies on, checked against what the kernel and coreutils say.</summary>
public sealed class UnixFilesTests : IDisposable
{
    private readonly TempFolder _temp = new();

    [Fact]
    public async Task Stat_reads_the_owner_group_and_mode_stat_1_reports()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "owner and group are read on Linux only");
        var file = _temp.Combine("app.sqlite");
        await File.WriteAllTextAsync(file, "data", TestContext.Current.CancellationToken);
        if (UnixFiles.IsRoot)
        {
            using var handle = File.OpenHandle(file);
            Assert.Equal(0, UnixFiles.FChown(handle, 1234, 2345));
        }

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var owner = Assert.IsType<UnixFiles.FileStat>(UnixFiles.Stat(file));

        var (exit, output) = await CliSandbox.ExecAsync("stat", "-c", "%u:%g:%a", file);
        Assert.True(exit == 0, output);
        Assert.Equal(output, $"{owner.Uid}:{owner.Gid}:{Convert.ToString(owner.Mode & 0xFFF, 8)}");
        Assert.Equal(0x8000u, owner.Mode & 0xF000); // S_IFREG
        if (UnixFiles.IsRoot)
        {
            Assert.Equal("1234:2345:640", output);
        }
    }

    [Fact]
    public async Task A_link_is_described_by_lstat_refused_by_open_without_following_and_fstat_tells_the_open_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "stat is read on Linux only");
        var file = _temp.Combine("app.sqlite");
        var link = _temp.Combine("planted.sqlite");
        await File.WriteAllTextAsync(file, "data", TestContext.Current.CancellationToken);
        File.CreateSymbolicLink(link, file);

        var error = Assert.Throws<IOException>(() => UnixFiles.OpenNoFollow(link, 0));
        using var opened = UnixFiles.OpenNoFollow(file, 0);

        Assert.Equal(UnixFiles.ELoop, error.HResult);
        Assert.Equal("a symbolic link", UnixFiles.LStat(link)!.Value.TypeName);
        Assert.Equal(UnixFiles.Stat(link)!.Value.Id, UnixFiles.FStat(opened)!.Value.Id);
        Assert.Equal(4, UnixFiles.FStat(opened)!.Value.Size);
        Assert.Equal(1ul, UnixFiles.FStat(opened)!.Value.Links);
    }

    [Fact]
    public async Task Stat_reads_the_device_and_inode_stat_1_reports_and_a_hard_link_shares_them()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "stat is read on Linux only");
        var file = _temp.Combine("app.sqlite");
        await File.WriteAllTextAsync(file, "data", TestContext.Current.CancellationToken);
        Assert.Equal(0, UnixFiles.Link(file, _temp.Combine("linked.sqlite")));

        var stat = Assert.IsType<UnixFiles.FileStat>(UnixFiles.Stat(file));

        var (exit, output) = await CliSandbox.ExecAsync("stat", "-c", "%d %i", file);
        Assert.True(exit == 0, output);
        Assert.Equal(output, $"{stat.Device} {stat.Inode}");
        Assert.Equal(stat.Id, UnixFiles.Stat(_temp.Combine("linked.sqlite"))?.Id);
        Assert.True(stat.IsRegularFile);
    }

    [Fact]
    public async Task Stat_tells_a_fifo_and_a_folder_from_a_regular_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "stat is read on Linux only");
        var fifo = _temp.Combine("pipe");
        var (exit, output) = await CliSandbox.ExecAsync("mkfifo", fifo);
        Assert.True(exit == 0, output);

        Assert.Equal((false, "a FIFO (named pipe)"), UnixFiles.Stat(fifo) is { } f ? (f.IsRegularFile, f.TypeName) : default);
        Assert.Equal((false, "a folder"), UnixFiles.Stat(_temp.Path) is { } d ? (d.IsRegularFile, d.TypeName) : default);
    }

    [Fact]
    public void Stat_of_a_missing_file_is_null()
    {
        Assert.Null(UnixFiles.Stat(_temp.Combine("missing")));
    }

    [Fact]
    public async Task Link_gives_a_file_a_second_name_and_never_replaces_a_taken_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var file = _temp.Combine("app.sqlite");
        var second = _temp.Combine("app.sqlite.pre-restore");
        await File.WriteAllTextAsync(file, "old", ct);

        Assert.Equal(0, UnixFiles.Link(file, second));
        await File.WriteAllTextAsync(file, "changed through the first name", ct);
        Assert.Equal("changed through the first name", await File.ReadAllTextAsync(second, ct));

        await File.WriteAllTextAsync(_temp.Combine("taken"), "keep me", ct);
        Assert.Equal(UnixFiles.EExist, UnixFiles.Link(file, _temp.Combine("taken")));
        Assert.Equal("keep me", await File.ReadAllTextAsync(_temp.Combine("taken"), ct));
    }

    [Fact]
    public async Task RealPath_resolves_a_symlinked_folder_to_the_path_the_kernel_shows()
    {
        var real = _temp.Combine("real");
        Directory.CreateDirectory(real);
        await File.WriteAllTextAsync(Path.Combine(real, "app.sqlite"), "", TestContext.Current.CancellationToken);
        Directory.CreateSymbolicLink(_temp.Combine("link"), real);
        var canonicalTemp = UnixFiles.RealPath(_temp.Path);

        Assert.Equal(Path.Combine(canonicalTemp!, "real", "app.sqlite"), UnixFiles.RealPath(_temp.Combine("link", "app.sqlite")));
        Assert.Null(UnixFiles.RealPath(_temp.Combine("link", "missing.sqlite")));
    }

    public void Dispose() => _temp.Dispose();
}

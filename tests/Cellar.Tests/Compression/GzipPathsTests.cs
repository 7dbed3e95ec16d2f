using Cellar.Core.Compression;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// Both ways gzip is written: libdeflate (used wherever it loads, as it does here) and .NET's zlib-ng (where it does
/// not). A member libdeflate writes is what stock gunzip and the reader a restore uses both read, byte for byte, and a
/// backup written by a Cellar told to use zlib-ng restores like any other.
/// </summary>
public sealed class GzipPathsTests : IDisposable
{
    private static readonly byte[] Data = SampleData.SeveralBlocks(Codec.For(CompressionKind.Gzip));
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Libdeflate_is_used_here()
    {
        // test.sh installs Debian's libdeflate0, as Cellar's image does: the fast path is the one the rest of the suite runs.
        Assert.True(NativeDeflate.Available);
    }

    [Fact]
    public async Task A_member_libdeflate_writes_reads_back_exactly_with_gunzip_and_with_the_restore_reader()
    {
        var ct = TestContext.Current.CancellationToken;
        var member = NativeDeflate.Compress(Data, 6, out var length);
        var path = _temp.Combine("member.gz");
        await File.WriteAllBytesAsync(path, member.AsMemory(0, length).ToArray(), ct);
        System.Buffers.ArrayPool<byte>.Shared.Return(member);

        Assert.Equal(Data, SampleData.Decode(Codec.For(CompressionKind.Gzip), path));
        Assert.Equal(Data, await SampleData.DecodeWithStockToolAsync("gzip", path));
    }

    [Fact]
    public async Task A_backup_written_with_zlib_ng_restores()
    {
        using var sandbox = await CliSandbox.CreateAsync(2 << 20, compression: "gzip");
        var run = await CliSandbox.RunAsync(["--config", sandbox.ConfigPath, "run", "daily"], new Dictionary<string, string> { ["CELLAR_GZIP"] = "managed" });
        Assert.True(run.ExitCode == 0, run.ToString());

        var restored = sandbox.Combine("restored.sqlite");
        var restore = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", restored);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(Replication.StreamSandbox.Rows(sandbox.Database, "images"), Replication.StreamSandbox.Rows(restored, "images"));
    }
}

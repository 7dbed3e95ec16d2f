using Cellar.Core.Compression;
using Cellar.Tests.Cli;
using Xunit;

namespace Cellar.Tests.Compression;

/// <summary>
/// Both ways zstd is done: the system's libzstd (used wherever it loads, as it does here) and ZstdSharp (where it does
/// not). Each reads what the other wrote, byte for byte, through reads of any size; each stops cut input with an
/// <see cref="InvalidDataException"/> and never crashes on a changed byte; and a backup written by a Cellar told to use ZstdSharp restores with libzstd.
/// </summary>
public sealed class ZstdPathsTests
{
    private static readonly byte[] Data = SampleData.SeveralBlocks(Codec.For(CompressionKind.Zstd));

    [Fact]
    public void The_system_libzstd_is_used_here()
    {
        // The CI machine is Debian, which always has libzstd.so.1: the fast path is the one the rest of the suite runs.
        Assert.True(NativeZstd.Available);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 4093)]
    [InlineData(true, 1 << 20)]
    [InlineData(false, 1)]
    [InlineData(false, 4093)]
    [InlineData(false, 1 << 20)]
    public void Frames_one_writes_the_other_reads_byte_for_byte(bool nativeWrites, int readSize)
    {
        var stored = nativeWrites ? Native(Data) : Managed(Data);
        using var reader = nativeWrites ? (Stream)new ZstdSharp.DecompressionStream(new MemoryStream(stored)) : new NativeZstdReader(new MemoryStream(stored));

        Assert.Equal(Data, ReadAll(reader, readSize));
    }

    [Fact]
    public async Task The_native_reader_reads_the_same_bytes_asynchronously()
    {
        using var reader = new NativeZstdReader(new MemoryStream(Managed(Data)));
        using var all = new MemoryStream();
        await reader.CopyToAsync(all, 4093, TestContext.Current.CancellationToken);

        Assert.Equal(Data, all.ToArray());
    }

    [Theory]
    [InlineData("cut short")]
    [InlineData("bytes after the last frame")]
    public void Cut_or_trailing_input_stops_the_native_reader_with_InvalidDataException(string damage)
    {
        var stored = Native(Data);
        stored = damage == "cut short" ? stored[..(stored.Length * 9 / 10)] : [.. stored, 1, 2, 3, 4, 5, 6, 7, 8];

        using var reader = new NativeZstdReader(new MemoryStream(stored));
        Assert.Throws<InvalidDataException>(() => ReadAll(reader, 1 << 16));
    }

    [Fact]
    public void A_changed_byte_anywhere_is_an_InvalidDataException_or_other_bytes_never_a_crash()
    {
        // Frames carry no checksum of their own (Cellar keeps a SHA-256 of every stored file): a changed byte must stop
        // the reader cleanly or decode to something else, which that hash then refuses.
        var stored = Native(Data);
        for (var at = 0; at < stored.Length; at += stored.Length / 23)
        {
            var damaged = (byte[])stored.Clone();
            damaged[at] ^= 0xFF;
            byte[]? read;
            using (var reader = new NativeZstdReader(new MemoryStream(damaged)))
            {
                try
                {
                    read = ReadAll(reader, 1 << 16);
                }
                catch (InvalidDataException)
                {
                    read = null;
                }
            }

            Assert.False(read is not null && read.AsSpan().SequenceEqual(Data), $"a byte changed at {at} of {stored.Length} went unseen");
        }
    }

    [Fact]
    public async Task A_backup_written_with_ZstdSharp_restores_with_libzstd()
    {
        using var sandbox = await CliSandbox.CreateAsync(2 << 20, compression: "zstd");
        var run = await CliSandbox.RunAsync(["--config", sandbox.ConfigPath, "run", "daily"], new Dictionary<string, string> { ["CELLAR_ZSTD"] = "managed" });
        Assert.True(run.ExitCode == 0, run.ToString());

        var restored = sandbox.Combine("restored.sqlite");
        var restore = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", restored);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(Replication.StreamSandbox.Rows(sandbox.Database, "images"), Replication.StreamSandbox.Rows(restored, "images"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_pages_change_is_what_stock_zstd_patch_from_reads(bool native)
    {
        // A page of random bytes with a cell that moved (40 bytes cut, the rest shifted) and a few bytes changed.
        var before = Data.AsSpan(1 << 20, 4096).ToArray();
        byte[] page = [.. before.AsSpan(0, 1000), .. before.AsSpan(1040), .. "a new title"u8, .. before.AsSpan(0, 29)];
        var change = new byte[PageDelta.Bound(4096)];
        int length;
        using (var delta = new PageDelta(native))
        {
            length = delta.Encode(page, before, change);
            var made = new byte[4096];
            delta.Decode(change.AsSpan(0, length), before, made);
            Assert.Equal(page, made);
        }

        Assert.InRange(length, 1, 200);
        using var temp = new Support.TempFolder();
        await File.WriteAllBytesAsync(temp.Combine("before"), before, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(temp.Combine("change.zst"), change.AsSpan(0, length).ToArray(), TestContext.Current.CancellationToken);
        var (exit, output) = await CliSandbox.ExecAsync("zstd", "-q", "-d", $"--patch-from={temp.Combine("before")}", temp.Combine("change.zst"), "-o", temp.Combine("page"));
        Assert.True(exit == 0, output);
        Assert.Equal(page, await File.ReadAllBytesAsync(temp.Combine("page"), TestContext.Current.CancellationToken));
    }

    /// <summary>Two frames, as a backup of two blocks holds.</summary>
    private static byte[] Native(byte[] data)
    {
        using var output = new MemoryStream();
        foreach (var half in new[] { data[..(data.Length / 2)], data[(data.Length / 2)..] })
        {
            var buffer = new byte[NativeZstd.Bound(half.Length)];
            output.Write(buffer, 0, NativeZstd.Compress(half, buffer, 3));
        }

        return output.ToArray();
    }

    private static byte[] Managed(byte[] data)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return [.. compressor.Wrap(data.AsSpan(0, data.Length / 2)).ToArray(), .. compressor.Wrap(data.AsSpan(data.Length / 2)).ToArray()];
    }

    private static byte[] ReadAll(Stream reader, int readSize)
    {
        using var all = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = reader.Read(buffer)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }
}

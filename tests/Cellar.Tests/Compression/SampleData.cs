using System.Globalization;
using System.Text;
using Cellar.Core.Compression;

namespace Cellar.Tests.Compression;

/// <summary>
/// Input for the compression tests: what Cellar compresses (log lines, SQL text, binary pages), made the same every
/// time, spanning several of the codecs' independent blocks so the joins between members or frames are exercised.
/// </summary>
internal static class SampleData
{
    /// <summary>Three and a half blocks: alternating runs of text lines and of random bytes (page-like, incompressible).</summary>
    public static byte[] SeveralBlocks(Codec codec)
    {
        var size = codec.BlockSize * 7 / 2;
        var random = new Random(14);
        using var data = new MemoryStream(size);
        var line = 0L;
        while (data.Length < size)
        {
            var text = new StringBuilder();
            for (var i = 0; i < 2000; i++, line++)
            {
                text.Append(CultureInfo.InvariantCulture, $"2026-11-26T01:00:00Z INFO order {line:D10} filled at {random.Next(1, 100_000)} cents\n");
            }

            data.Write(Encoding.ASCII.GetBytes(text.ToString()));
            var page = new byte[64 << 10];
            random.NextBytes(page);
            data.Write(page);
        }

        return data.ToArray()[..size];
    }

    /// <summary>All of <paramref name="path"/> as <paramref name="codec"/> decodes it; decoder errors propagate.</summary>
    public static byte[] Decode(Codec codec, string path)
    {
        using var decoded = codec.OpenRead(File.OpenRead(path));
        using var all = new MemoryStream();
        decoded.CopyTo(all);
        return all.ToArray();
    }

    /// <summary>
    /// All of <paramref name="path"/> (NAME.gz or NAME.zst) as the stock tool (<c>gzip</c> or <c>zstd</c>) decodes it:
    /// <c>TOOL -d -q</c> must succeed and write NAME beside it, which is returned.
    /// </summary>
    public static async Task<byte[]> DecodeWithStockToolAsync(string tool, string path)
    {
        var (code, output) = await Cli.CliSandbox.ExecAsync(tool, "-d", "-q", path);
        Xunit.Assert.True(code == 0, $"{tool} -d failed: {output}");
        return await File.ReadAllBytesAsync(Path.ChangeExtension(path, null), Xunit.TestContext.Current.CancellationToken);
    }
}

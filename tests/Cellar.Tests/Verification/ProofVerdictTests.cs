using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Cellar.Core;
using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Jobs;
using Cellar.Core.Verification;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Verification;

/// <summary>
/// What the proof of a stored file says when it fails is a promise too: one line an operator can act on, naming what
/// is wrong. Each test makes one failure on purpose (a file gone, a codec or kind this version cannot read, bytes that
/// are not the ones written, a file that was written wrong from the start) and checks the verdict's words.
/// </summary>
public sealed class ProofVerdictTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_file_that_is_gone_is_said_to_be_gone()
    {
        var result = await VerifyAsync(_temp.Combine("portfolio-2026-11-29.sqlite.gz"));

        Assert.Equal(["file does not exist"], result.Problems);
    }

    [Fact]
    public async Task A_sidecar_naming_a_codec_this_version_cannot_read_is_said_by_name()
    {
        var backup = await BackupAsync("daily", "gzip");
        Rewrite(backup, s => s with { Compression = "brotli" });

        var result = await VerifyAsync(backup);

        Assert.Equal(["its sidecar says it is compressed with 'brotli', which this version of Cellar cannot read"], result.Problems);
    }

    [Fact]
    public async Task Bytes_that_are_not_the_ones_written_name_both_checksums_short()
    {
        var backup = await BackupAsync("daily", "none");
        CliSandbox.FlipByte(backup, new FileInfo(backup).Length / 2);

        var result = await VerifyAsync(backup);

        var sha = CliSandbox.HashOf(backup);
        var recorded = Sidecar.TryRead(backup)!.Sha256;
        Assert.Equal([$"checksum mismatch: sha256 {sha[..12]}…, the sidecar says {recorded[..12]}…"], result.Problems);
    }

    [Fact]
    public async Task A_dump_whose_tables_differ_from_its_sidecar_names_the_table_and_both_counts()
    {
        var backup = await BackupAsync("social", "gzip");
        var comments = Sidecar.TryRead(backup)!.RowCounts["comments"];
        Rewrite(backup, s => s with { RowCounts = new Dictionary<string, long>(s.RowCounts) { ["comments"] = comments + 1 } });

        var result = await VerifyAsync(backup);

        Assert.Equal([$"table comments has {comments} rows, the dump had {comments + 1}"], result.Problems);
    }

    [Theory]
    [InlineData("snapshot", "cannot be decompressed: ")]
    [InlineData("dump", "does not load: ")]
    [InlineData("log", "cannot be decompressed: ")]
    public async Task A_file_written_wrong_from_the_start_says_it_cannot_be_read_not_that_it_rotted(string kind, string verdict)
    {
        // Its checksum is the sidecar's: these are the bytes that were written, and they were never a gzip stream.
        var path = Craft(kind, Encoding.UTF8.GetBytes("not a gzip stream at all, written by a broken compressor\n"), sourceBytes: 57, lines: 1);

        var result = await VerifyAsync(path);

        Assert.StartsWith(verdict, Assert.Single(result.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_archive_that_expands_to_other_text_than_recorded_says_both_sizes()
    {
        var path = Craft("log", Gzip("first line\nsecond line\n"), sourceBytes: 30, lines: 2);

        var result = await VerifyAsync(path);

        Assert.Equal(["holds 23 bytes in 2 lines, the sidecar says 30 in 2"], result.Problems);
    }

    private static Task<VerificationResult> VerifyAsync(string path) =>
        BackupVerifier.VerifyAsync(path, job: null, TimeProvider.System, progress: null, notices: null, Ct);

    /// <summary>A real backup of the sample database by <paramref name="job"/> (daily: snapshot, social: dump of two tables).</summary>
    private async Task<string> BackupAsync(string job, string compression)
    {
        var config = await TwoJobConfig.WriteAsync(_temp, compression, 2L << 20, Ct);
        var outcome = await new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance).RunAsync(job, null, null, Ct);
        return outcome.Path!;
    }

    private static void Rewrite(string backup, Func<Sidecar, Sidecar> change)
    {
        var changed = change(Sidecar.TryRead(backup)!);
        File.Delete(Sidecar.PathFor(backup));
        changed.Write(backup);
    }

    /// <summary>A stored file of <paramref name="kind"/> holding <paramref name="stored"/>, with a sidecar that vouches for exactly those bytes.</summary>
    private string Craft(string kind, byte[] stored, long sourceBytes, long lines)
    {
        var path = _temp.Combine($"crafted-{kind}.gz");
        File.WriteAllBytes(path, stored);
        new Sidecar
        {
            Kind = kind == "snapshot" ? null : kind,
            Job = "crafted",
            Database = "portfolio",
            Created = DateTimeOffset.UnixEpoch,
            SourcePath = _temp.Combine("portfolio.sqlite"),
            SourceBytes = sourceBytes,
            RowCounts = new Dictionary<string, long> { [kind == "log" ? "lines" : "comments"] = lines },
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(stored)),
            SizeBytes = stored.Length,
            Compression = "gzip",
            CellarVersion = "test",
        }.Write(path);
        return path;
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }
}

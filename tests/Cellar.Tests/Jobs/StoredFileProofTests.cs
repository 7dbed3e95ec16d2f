using Cellar.Core;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Core.Status;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Jobs;

/// <summary>
/// A stored file counts only once it decompresses to exactly what went in. A compressor that writes one wrong byte, or
/// cuts a block short (injected through <see cref="FaultInjection.Compressed"/>, in this test's async flow only), fails the run: nothing
/// takes a final name and the backups made before stay as they were.
/// </summary>
public sealed class StoredFileProofTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        FaultInjection.Compressed = null;
        _temp.Dispose();
    }

    [Theory]
    [InlineData("daily", "gzip", "middle")]
    [InlineData("daily", "gzip", "last")]
    [InlineData("daily", "zstd", "middle")]
    [InlineData("daily", "zstd", "last")]
    [InlineData("daily", "none", "middle")]
    [InlineData("social", "gzip", "middle")]
    [InlineData("social", "none", "middle")]
    [InlineData("daily", "zstd", "cut")]
    [InlineData("daily", "gzip", "cut")]
    [InlineData("daily", "none", "cut")]
    [InlineData("social", "zstd", "cut")]
    public async Task A_stored_file_with_a_wrong_byte_or_cut_short_fails_the_run_and_leaves_the_older_backups_as_they_were(string jobName, string compression, string where)
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await TwoJobConfig.WriteAsync(_temp, compression, 3L << 20, ct);
        var job = config.FindJob(jobName);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        await runner.RunAsync(jobName, null, null, ct);
        var before = CliSandbox.Fingerprint(job.Folder);
        if (where == "cut")
        {
            CompressorFault.CutShort();
        }
        else
        {
            CompressorFault.FlipOneByte(last: where == "last");
        }

        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync(jobName, null, null, ct));

        Assert.StartsWith("verification failed: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("backup not kept", error.Message, StringComparison.Ordinal);
        Assert.Contains(Reason(jobName, compression, where), error.Message, StringComparison.Ordinal);
        Assert.Equal(before, CliSandbox.Fingerprint(job.Folder));
        CliSandbox.AssertNoTempFiles(job.Folder);
        Assert.StartsWith("verification failed: ", JobState.Read(job.Folder).LastFailureMessage, StringComparison.Ordinal);
    }

    /// <summary>
    /// What the proof says went wrong. A stored file that is not compressed decodes to as many bytes as went in, so a
    /// flipped byte is caught only by comparing contents; a damaged compressed block stops the decoder first.
    /// </summary>
    private static string Reason(string jobName, string compression, string where) => (jobName, compression, where) switch
    {
        ("daily", "none", "middle") => "the stored backup does not decompress to the snapshot (differs after byte ",
        ("social", "none", "middle") => "bytes of SQL other than the ",
        ("daily", _, _) => "the stored backup does not decompress ",
        _ => "the stored file ",
    };
}

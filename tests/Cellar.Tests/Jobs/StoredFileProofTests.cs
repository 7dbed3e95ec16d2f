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
        FaultInjection.StoredWritten = null;
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
        var error = await FailedRunAsync(jobName, compression, () =>
        {
            if (where == "cut")
            {
                CompressorFault.CutShort();
            }
            else
            {
                CompressorFault.FlipOneByte(last: where == "last");
            }
        });

        Assert.StartsWith("verification failed: the stored file's block for input bytes ", error, StringComparison.Ordinal);
        Assert.Matches(Reason, error);
    }

    /// <summary>
    /// A stored file whose blocks were proven, changed on its way to the disk (here: one byte of the fsynced temp file
    /// flipped before it is read back), fails the run just the same: the file must hold exactly the proven bytes.
    /// </summary>
    [Theory]
    [InlineData("daily", "zstd")]
    [InlineData("daily", "none")]
    [InlineData("social", "gzip")]
    public async Task A_stored_file_changed_after_its_blocks_were_proven_fails_the_run(string jobName, string compression)
    {
        var error = await FailedRunAsync(jobName, compression, () => FaultInjection.StoredWritten = path =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            file.Position = file.Length / 2;
            var b = (byte)file.ReadByte();
            file.Position--;
            file.WriteByte((byte)~b);
        });

        Assert.StartsWith("verification failed: the stored file's bytes ", error, StringComparison.Ordinal);
        Assert.EndsWith(" are not the ones proven and written; backup not kept", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <paramref name="jobName"/> once cleanly, then again with the fault <paramref name="inject"/> sets up: the
    /// second run must fail as a verification, leave the folder as the first left it, with no temp file, and be recorded
    /// as failed. Returns its one-line error.
    /// </summary>
    private async Task<string> FailedRunAsync(string jobName, string compression, Action inject)
    {
        var ct = TestContext.Current.CancellationToken;
        var config = await TwoJobConfig.WriteAsync(_temp, compression, 3L << 20, ct);
        var job = config.FindJob(jobName);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        await runner.RunAsync(jobName, null, null, ct);
        var before = CliSandbox.Fingerprint(job.Folder);
        inject();

        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync(jobName, null, null, ct));

        Assert.EndsWith("backup not kept", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, CliSandbox.Fingerprint(job.Folder));
        CliSandbox.AssertNoTempFiles(job.Folder);
        Assert.Equal(error.Message, JobState.Read(job.Folder).LastFailureMessage);
        return error.Message;
    }

    /// <summary>
    /// What the proof says went wrong, and where: the block's decoder stopped (a damaged or cut member or frame), or it
    /// decoded to other bytes or fewer (a flipped byte inside deflate or zstd data can decode; a stored file that is
    /// not compressed decodes whatever it holds).
    /// </summary>
    private const string Reason = " (differs at byte|ends after|does not decompress after byte) [0-9]+";
}

using System.Globalization;
using System.Text;
using Cellar.Core;
using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Logs;
using Cellar.Core.Verification;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Artifacts;

/// <summary>
/// The one path every artifact takes, on its own: a source that hands it text (a log archive's kind, the simplest) and
/// a proof that either checks the stored file for real or reports a problem on demand (an injected fault).
/// </summary>
public sealed class ArtifactWriterTests : IDisposable
{
    private static readonly DateTimeOffset Taken = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_proof_that_reports_a_problem_leaves_nothing_under_a_final_name_and_no_temp_file()
    {
        var job = Job("gzip");
        await using var source = new TextSource("one\ntwo\n", problem: "the bytes are not the ones written");

        var error = await Assert.ThrowsAsync<CellarException>(() => Write(job, source));

        Assert.Equal("verification failed: the bytes are not the ones written; archive not kept", error.Message);
        Assert.True(source.Stored, "the proof ran before anything was stored");
        Assert.Empty(Directory.EnumerateFileSystemEntries(job.Folder));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("none")]
    public async Task A_publish_leaves_exactly_the_file_and_its_sidecar_both_owner_only_and_the_file_verifies(string compression)
    {
        var job = Job(compression);
        const string Text = "one\ntwo\nthree\n";
        await using var source = new TextSource(Text);

        var (path, sidecar) = await Write(job, source);

        Assert.Equal(Path.Combine(job.Folder, "logs-2026-11-20.log" + Codec(compression)), path);
        Assert.Equal(
            [Path.GetFileName(path), Path.GetFileName(path) + Sidecar.Suffix],
            Directory.EnumerateFileSystemEntries(job.Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All([path, Sidecar.PathFor(path)], file => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file)));

        // The writer's fields and the kind's, as read back from disk.
        Assert.Equal(sidecar, Sidecar.TryRead(path)! with { RowCounts = sidecar.RowCounts });
        Assert.Equal((LogArchiveKind.Instance.Name, "logs", "portfolio", Taken, compression, true), (sidecar.Kind, sidecar.Job, sidecar.Database, sidecar.Created, sidecar.Compression, sidecar.Verified));
        Assert.Equal((CliSandbox.HashOf(path), new FileInfo(path).Length), (sidecar.Sha256, sidecar.SizeBytes));
        Assert.Equal(Encoding.UTF8.GetByteCount(Text), sidecar.SourceBytes);
        Assert.False(string.IsNullOrEmpty(sidecar.CellarVersion));
        using var expanded = TempFile.For(_temp.Path, "expanded");
        var check = await BackupVerifier.ExpandAndCheckAsync(path, expanded.Path, null, TestContext.Current.CancellationToken);
        Assert.True(check.Ok, string.Join("; ", check.Problems));
    }

    [Fact]
    public async Task The_hook_before_publish_runs_with_the_final_name_that_neither_the_file_nor_its_sidecar_has_yet()
    {
        var job = Job("gzip");
        await using var source = new TextSource("one\n");

        var (path, _) = await Write(job, source);

        Assert.Equal(path, source.PublishedAs);
        Assert.Equal((false, false), source.ExistedBeforePublish);
    }

    [Fact]
    public async Task A_source_that_fails_while_storing_leaves_no_temp_file_and_its_own_error()
    {
        var job = Job("zstd");
        await using var source = new TextSource("one\n", failWhileStoring: true);

        var error = await Assert.ThrowsAsync<IOException>(() => Write(job, source));

        Assert.Equal("the source broke", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(job.Folder));
    }

    private static string Codec(string compression) => compression switch { "gzip" => ".gz", "zstd" => ".zst", _ => "" };

    private static Task<(string Path, Sidecar Sidecar)> Write(JobConfig job, ArtifactSource source) =>
        new ArtifactWriter(TimeProvider.System).WriteAsync(job, TimeZoneInfo.Utc, null, source, TestContext.Current.CancellationToken);

    private JobConfig Job(string compression)
    {
        var configPath = _temp.Combine("cellar.json");
        File.WriteAllText(configPath, $$"""
            { "database": "{{_temp.Combine("portfolio.sqlite")}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}", "timeZone": "UTC",
              "jobs": { "logs": { "type": "rotate", "path": "{{_temp.Combine("app.log")}}", "compression": "{{compression}}" } } }
            """);
        var job = ConfigLoader.Load(configPath).FindJob("logs");
        Directory.CreateDirectory(job.Folder);
        return job;
    }

    /// <summary>Text as a log archive: stored as given, proven for real unless told to report <c>problem</c>.</summary>
    private sealed class TextSource(string text, string? problem = null, bool failWhileStoring = false) : ArtifactSource
    {
        private readonly byte[] _bytes = Encoding.UTF8.GetBytes(text);
        private ArtifactTarget? _target;

        public bool Stored { get; private set; }

        public string? PublishedAs { get; private set; }

        public (bool File, bool Sidecar) ExistedBeforePublish { get; private set; }

        public override ArtifactKind Kind => LogArchiveKind.Instance;

        public override Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken) => Task.FromResult(Taken);

        public override async Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken)
        {
            _target = target;
            Stream input = failWhileStoring ? new BrokenStream() : new MemoryStream(_bytes);
            var stored = await target.WriteAsync(input, null, cancellationToken);
            Stored = true;
            return stored;
        }

        public override Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken) =>
            Task.FromResult(problem ?? target.Shortfall(_bytes.Length, "the log"));

        public override Sidecar Describe(Sidecar common) => common with
        {
            SourcePath = "/var/log/app.log",
            SourceBytes = _bytes.Length,
            RowCounts = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["lines"] = text.Count(c => c == '\n') },
        };

        public override void BeforePublish(string finalPath)
        {
            PublishedAs = finalPath;
            ExistedBeforePublish = (File.Exists(finalPath), File.Exists(Sidecar.PathFor(finalPath)));
            Assert.True(File.Exists(_target!.Path), string.Create(CultureInfo.InvariantCulture, $"the stored temp file {_target.Path} is gone before publish"));
        }
    }

    /// <summary>A source stream that fails half way, as a disk read would.</summary>
    private sealed class BrokenStream : Stream
    {
        private bool _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read)
            {
                throw new IOException("the source broke");
            }

            _read = true;
            buffer[offset] = (byte)'x';
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

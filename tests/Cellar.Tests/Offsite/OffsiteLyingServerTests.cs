using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Storage;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>
/// A backup counts as offsite only once the destination provably holds it. Against a server that lies (a corrupted
/// part, a wrong or non-MD5 ETag with a read-back that comes back wrong, a HEAD that does not see the copy) or keeps
/// failing (500s, dropped connections past the retries), the pass fails, the ledger records nothing, the backup stays
/// pending, and the next pass against an honest server uploads it. Default settings throughout.
/// </summary>
public sealed class OffsiteLyingServerTests(OffsiteLyingServerTests.OneBackup fixture) : IClassFixture<OffsiteLyingServerTests.OneBackup>
{
    /// <summary>What the backup's object key ends with (it is encrypted); sidecars and the manifest are told no lies.</summary>
    private const string Object = ".enc";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(S3Call.PutObject, S3Fault.CorruptUpload, false)]
    [InlineData(S3Call.UploadPart, S3Fault.CorruptUpload, false)]
    [InlineData(S3Call.PutObject, S3Fault.WrongEtag, true)]
    [InlineData(S3Call.UploadPart, S3Fault.NonMd5Etag, true)]
    [InlineData(S3Call.CompleteMultipartUpload, S3Fault.WrongEtag, true)]
    [InlineData(S3Call.UploadPart, S3Fault.ServerError, false)]
    [InlineData(S3Call.PutObject, S3Fault.DropConnection, false)]
    [InlineData(S3Call.HeadObject, S3Fault.NotFound, false)]
    public async Task A_copy_the_server_cannot_prove_it_holds_is_not_recorded_and_stays_pending(S3Call call, S3Fault fault, bool readBackCorrupted)
    {
        var multipart = call is S3Call.UploadPart or S3Call.CompleteMultipartUpload;
        await using var pass = await Pass.OpenAsync(fixture, multipart);
        pass.Proxy.Tell(new S3Lie(call, fault) { KeyEndsWith = Object });
        if (fault == S3Fault.NonMd5Etag)
        {
            pass.Proxy.Tell(new S3Lie(S3Call.GetObject, fault) { KeyEndsWith = Object });
        }

        if (readBackCorrupted)
        {
            pass.Proxy.Tell(new S3Lie(S3Call.GetObject, S3Fault.CorruptDownload) { KeyEndsWith = Object });
        }

        var report = await pass.RunAsync();

        Assert.NotNull(report.Error);
        Assert.Empty(report.Uploaded);
        Assert.Empty(pass.Ledger().Entries);
        Assert.Equal(1, pass.Pending());
        if (readBackCorrupted || fault == S3Fault.CorruptUpload)
        {
            Assert.Contains("read back differs", report.Error, StringComparison.Ordinal);
            Assert.Equal(1, pass.Proxy.Count(S3Call.GetObject, Object));
        }

        pass.Proxy.BeHonest();
        var honest = await pass.RunAsync();
        Assert.Null(honest.Error);
        Assert.Single(honest.Uploaded);
        Assert.Single(pass.Ledger().Entries);
        Assert.Equal(0, pass.Pending());
        Assert.True(multipart == pass.Proxy.Count(S3Call.UploadPart, Object) > 1, $"the backup must go up {(multipart ? "in parts" : "in one PUT")} here");
    }

    [Fact]
    public async Task A_copy_whose_etags_are_not_md5s_is_proven_by_reading_it_back_and_recorded()
    {
        await using var pass = await Pass.OpenAsync(fixture, multipart: true);
        pass.Proxy.Tell(
            new S3Lie(S3Call.UploadPart, S3Fault.NonMd5Etag) { KeyEndsWith = Object },
            new S3Lie(S3Call.CompleteMultipartUpload, S3Fault.NonMd5Etag) { KeyEndsWith = Object },
            new S3Lie(S3Call.GetObject, S3Fault.NonMd5Etag) { KeyEndsWith = Object });

        var report = await pass.RunAsync();

        Assert.Null(report.Error);
        Assert.Equal(report.Uploaded.Single().Key, pass.Ledger().Entries.Single().Key);
        Assert.Equal(1, pass.Proxy.Count(S3Call.GetObject, Object));
    }

    /// <summary>
    /// A sandbox with one verified backup (a few MiB, encrypted), made once for the class by the first test that asks
    /// (so a machine without Node.js skips these tests instead of failing the class).
    /// </summary>
    public sealed class OneBackup : IAsyncDisposable
    {
        private readonly SemaphoreSlim _make = new(1, 1);
        private OffsiteSandbox? _sandbox;

        internal async Task<OffsiteSandbox> GetAsync()
        {
            await _make.WaitAsync(Ct);
            try
            {
                if (_sandbox is null)
                {
                    _sandbox = await OffsiteSandbox.CreateAsync(4 << 20);
                    await _sandbox.Cli.BackupAsync();
                }

                return _sandbox;
            }
            finally
            {
                _make.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_sandbox is not null)
            {
                await _sandbox.DisposeAsync();
            }

            _make.Dispose();
        }
    }

    /// <summary>
    /// One test's offsite passes: the destination through a fresh proxy, on a prefix of its own, with no ledger yet, as
    /// the daemon runs them (in-process, with short retry delays), the backup in 1 MiB parts or in one 16 MiB PUT.
    /// </summary>
    private sealed class Pass : IAsyncDisposable
    {
        private readonly CellarConfig _config;
        private readonly OffsiteSync _sync;

        private Pass(LyingS3Proxy proxy, CellarConfig config, bool multipart)
        {
            Proxy = proxy;
            _config = config;
            _sync = new OffsiteSync(config, TimeProvider.System, NullLogger.Instance, destination => new S3ObjectStore(
                destination.S3! with { PartSizeBytes = multipart ? 1 << 20 : 16 << 20 },
                retryDelay: TimeSpan.FromMilliseconds(10)));
        }

        public LyingS3Proxy Proxy { get; }

        public static async Task<Pass> OpenAsync(OneBackup fixture, bool multipart)
        {
            var sandbox = await fixture.GetAsync();
            var proxy = await LyingS3Proxy.StartAsync(sandbox.Server, Ct);
            var prefix = SharedS3Server.FreshPrefix().TrimEnd('/');
            sandbox.Configure(d =>
            {
                d["endpoint"] = proxy.Endpoint.AbsoluteUri;
                d["prefix"] = prefix;
            });
            var config = ConfigLoader.Load(sandbox.Cli.ConfigPath);
            foreach (var ledger in Directory.GetFiles(OffsiteLedger.FolderOf(config.Databases.Single()), "*.json"))
            {
                File.Delete(ledger);
            }

            return new Pass(proxy, config, multipart);
        }

        public async Task<SyncReport> RunAsync()
        {
            var report = (await _sync.RunAsync(null, null, repair: false, Ct)).Single();
            TestContext.Current.TestOutputHelper?.WriteLine($"pass: {report.Error ?? "ok"}; requests: {string.Join(", ", Proxy.Exchanges.Select(e => $"{e.Call} {e.Part} {e.Status}"))}");
            return report;
        }

        public OffsiteLedger Ledger()
        {
            var database = _config.Databases.Single();
            return OffsiteLedger.Load(database, database.Offsite.Single());
        }

        public int Pending() => _sync.Lag().Single().Pending;

        public async ValueTask DisposeAsync() => await Proxy.DisposeAsync();
    }
}

using System.Security.Cryptography;
using Cellar.Core;
using Cellar.Core.Storage;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Storage;

/// <summary>
/// The S3 store against a server that lies or fails (<see cref="LyingS3Proxy"/> in front of s3rver), with the default
/// settings (no SDK checksums, no chunked bodies): a put returns only once the server provably holds the bytes sent,
/// by each part's ETag or, where an ETag is not their MD5, by reading the object back; transient failures are retried,
/// and each retry is a request the proxy counts.
/// </summary>
public sealed class LyingS3ServerTests(SharedS3Server shared) : IClassFixture<SharedS3Server>
{
    /// <summary>Small parts, so that an object of unknown length goes up in several of them.</summary>
    private const int PartSize = 64 << 10;

    private const string Key = "daily/backup.sqlite.gz";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(S3Call.PutObject)]
    [InlineData(S3Call.UploadPart)]
    public async Task A_byte_flipped_on_its_way_to_the_server_fails_the_put(S3Call call)
    {
        await using var lab = await Lab.OpenAsync(shared);
        lab.Proxy.Tell(new S3Lie(call, S3Fault.CorruptUpload) { Skip = SkipFirstPart(call), Times = 1 });

        var error = await Assert.ThrowsAsync<CellarException>(() => lab.Store.PutAsync(Key, new MemoryStream(Bytes(call)), null, Ct));

        Assert.Contains("does not match what was sent", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, lab.Proxy.Count(S3Call.GetObject, Key));
    }

    [Theory]
    [InlineData(S3Call.PutObject, false)]
    [InlineData(S3Call.UploadPart, false)] // s3rver: the MD5 of the whole object
    [InlineData(S3Call.UploadPart, true)] // AWS S3: the MD5 of the parts' MD5s, a dash, the number of parts
    public async Task Etags_that_are_the_md5_of_what_was_sent_prove_a_put_without_reading_it_back(S3Call call, bool aws)
    {
        await using var lab = await Lab.OpenAsync(shared);
        var bytes = Bytes(call);
        if (aws)
        {
            lab.Proxy.Tell(new S3Lie(S3Call.CompleteMultipartUpload, S3Fault.AwsMultipartEtag));
        }

        var put = await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);

        Assert.Equal(Sha256(bytes), put.Sha256);
        Assert.Equal(call == S3Call.UploadPart ? 1 : 0, lab.Proxy.Count(S3Call.CompleteMultipartUpload, Key));
        Assert.Equal(0, lab.Proxy.Count(S3Call.GetObject, Key));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_sdks_own_checksums_are_sent_and_asked_for_only_when_configured(bool sdkChecksums)
    {
        await using var lab = await Lab.OpenAsync(shared, sdkChecksums: sdkChecksums);
        var bytes = Bytes(S3Call.PutObject);
        await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);
        await using (var body = await lab.Store.GetAsync(Key, Ct))
        {
            await body.CopyToAsync(Stream.Null, Ct);
        }

        var put = lab.Proxy.Exchanges.First(e => e.Call == S3Call.PutObject);
        var get = lab.Proxy.Exchanges.First(e => e.Call == S3Call.GetObject);
        Assert.True(sdkChecksums == put.ChecksumHeaders.Any(h => h.StartsWith("x-amz-checksum-", StringComparison.Ordinal)), string.Join(", ", put.ChecksumHeaders));
        Assert.True(sdkChecksums == get.ChecksumHeaders.Contains("x-amz-checksum-mode"), string.Join(", ", get.ChecksumHeaders));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Theory]
    [MemberData(nameof(EtagLies))]
    public async Task An_etag_that_is_not_the_md5_of_what_was_sent_is_settled_by_reading_the_object_back(S3Call call, S3Fault fault)
    {
        await using var lab = await Lab.OpenAsync(shared);
        var bytes = Bytes(call);
        lab.Proxy.Tell(EtagLie(call, fault));

        var put = await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);

        Assert.Equal(Sha256(bytes), put.Sha256);
        Assert.Equal(1, lab.Proxy.Count(S3Call.GetObject, Key));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Theory]
    [MemberData(nameof(EtagLies))]
    public async Task A_read_back_that_differs_from_what_was_sent_fails_the_put(S3Call call, S3Fault fault)
    {
        await using var lab = await Lab.OpenAsync(shared);
        var bytes = Bytes(call);
        lab.Proxy.Tell([.. EtagLie(call, fault), new S3Lie(S3Call.GetObject, S3Fault.CorruptDownload)]);

        var error = await Assert.ThrowsAsync<CellarException>(() => lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct));

        Assert.Contains("read back differs", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, lab.Proxy.Count(S3Call.GetObject, Key));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Fact]
    public async Task A_download_that_comes_back_wrong_fails_in_one_line_naming_the_object()
    {
        await using var lab = await Lab.OpenAsync(shared);
        var bytes = Bytes(S3Call.PutObject);
        await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);
        lab.Proxy.Tell(new S3Lie(S3Call.GetObject, S3Fault.CorruptDownload));

        await using var body = await lab.Store.GetAsync(Key, Ct);
        var error = await Assert.ThrowsAnyAsync<CellarException>(() => body.CopyToAsync(Stream.Null, Ct));

        // The SDK's own exception said neither the object nor the store; the operator gets both.
        Assert.StartsWith($"{lab.Store.Location}{Key}: the object read does not match the server's checksum", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(S3Call.PutObject)]
    [InlineData(S3Call.CreateMultipartUpload)]
    [InlineData(S3Call.UploadPart)]
    [InlineData(S3Call.CompleteMultipartUpload)]
    public async Task Server_errors_are_retried_until_the_server_answers(S3Call call)
    {
        await using var lab = await Lab.OpenAsync(shared, retries: 3);
        var bytes = Bytes(call);
        lab.Proxy.Tell(new S3Lie(call, S3Fault.ServerError) { Skip = SkipFirstPart(call), Times = 2 });

        var put = await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);

        Assert.Equal(Sha256(bytes), put.Sha256);
        Assert.Equal([500, 500, 200], lab.Attempts(call));
        Assert.Equal(0, lab.Proxy.Count(S3Call.AbortMultipartUpload));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Theory]
    [InlineData(S3Call.PutObject)]
    [InlineData(S3Call.UploadPart)]
    public async Task A_connection_dropped_mid_body_is_retried_with_the_whole_body(S3Call call)
    {
        await using var lab = await Lab.OpenAsync(shared);
        var bytes = Bytes(call);
        lab.Proxy.Tell(new S3Lie(call, S3Fault.DropConnection) { Skip = SkipFirstPart(call), Times = 1 });

        var put = await lab.Store.PutAsync(Key, new MemoryStream(bytes), null, Ct);

        Assert.Equal(Sha256(bytes), put.Sha256);
        Assert.Equal([0, 200], lab.Attempts(call));
        Assert.Equal(bytes, await lab.ReadDirectAsync(Key));
    }

    [Theory]
    [InlineData(S3Fault.ServerError)]
    [InlineData(S3Fault.DropConnection)]
    public async Task A_part_that_fails_past_the_retries_fails_the_put_and_the_upload_is_aborted(S3Fault fault)
    {
        await using var lab = await Lab.OpenAsync(shared, retries: 2);
        lab.Proxy.Tell(new S3Lie(S3Call.UploadPart, fault) { Skip = 1 });

        await Assert.ThrowsAsync<CellarException>(() => lab.Store.PutAsync(Key, new MemoryStream(Bytes(S3Call.UploadPart)), null, Ct));

        // Three tries (the first and two retries) of the second part after the create and the first part. The proxy
        // may see more: HttpClient itself sends a request again when its connection closed before any answer.
        Assert.Equal(5, lab.Store.Requests);
        Assert.True(lab.Attempts(S3Call.UploadPart) is { Count: >= 3 } attempts && attempts.All(s => s is 0 or 500), string.Join(", ", lab.Attempts(S3Call.UploadPart)));
        Assert.Equal(0, lab.Proxy.Count(S3Call.CompleteMultipartUpload));
        Assert.Equal(1, lab.Proxy.Count(S3Call.AbortMultipartUpload));
        Assert.Null(await lab.Direct.StatAsync(Key, Ct));
    }

    public static TheoryData<S3Call, S3Fault> EtagLies => new()
    {
        { S3Call.PutObject, S3Fault.WrongEtag },
        { S3Call.PutObject, S3Fault.NonMd5Etag },
        { S3Call.UploadPart, S3Fault.WrongEtag },
        { S3Call.UploadPart, S3Fault.NonMd5Etag },
        { S3Call.CompleteMultipartUpload, S3Fault.WrongEtag },
        { S3Call.CompleteMultipartUpload, S3Fault.NonMd5Etag },
    };

    /// <summary>
    /// A wrong ETag once (for a part: the second one); a server that gives non-MD5 ETags gives them for every such
    /// call and for the download too.
    /// </summary>
    private static S3Lie[] EtagLie(S3Call call, S3Fault fault) => fault == S3Fault.NonMd5Etag
        ? [new S3Lie(call, fault), new S3Lie(S3Call.GetObject, fault)]
        : [new S3Lie(call, fault) { Skip = SkipFirstPart(call), Times = 1 }];

    /// <summary>Half a part (one PUT) for a single put, else three parts and a bit (a multipart upload).</summary>
    private static byte[] Bytes(S3Call call) => RandomNumberGenerator.GetBytes(call == S3Call.PutObject ? PartSize / 2 : (3 * PartSize) + 17);

    /// <summary>A part's lie is told to the second part: a check of the first or last part only would miss it.</summary>
    private static int SkipFirstPart(S3Call call) => call == S3Call.UploadPart ? 1 : 0;

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A proxy in front of the shared server, a store through it, and one straight to the server, on a fresh prefix.</summary>
    private sealed class Lab : IAsyncDisposable
    {
        private Lab(LyingS3Proxy proxy, S3ObjectStore store, S3ObjectStore direct)
        {
            Proxy = proxy;
            Store = store;
            Direct = direct;
        }

        public LyingS3Proxy Proxy { get; }

        public S3ObjectStore Store { get; }

        public S3ObjectStore Direct { get; }

        public static async Task<Lab> OpenAsync(SharedS3Server shared, int retries = 1, bool sdkChecksums = false)
        {
            var server = await shared.GetAsync(Ct);
            var proxy = await LyingS3Proxy.StartAsync(server, Ct);
            var prefix = SharedS3Server.FreshPrefix();
            return new Lab(
                proxy,
                new S3ObjectStore(proxy.Options(prefix) with { PartSizeBytes = PartSize, Retries = retries, SdkChecksums = sdkChecksums }, retryDelay: TimeSpan.FromMilliseconds(10)),
                new S3ObjectStore(server.Options(prefix)));
        }

        /// <summary>The statuses the attempts at <paramref name="call"/> got (for a part: the second part), in order; 0 for a dropped connection.</summary>
        public List<int> Attempts(S3Call call) =>
            Proxy.Exchanges.Where(e => e.Call == call && (call != S3Call.UploadPart || e.Part == 2)).Select(e => e.Status).ToList();

        /// <summary>What the server holds under <paramref name="key"/>, read around the proxy.</summary>
        public async Task<byte[]> ReadDirectAsync(string key)
        {
            await using var stream = await Direct.GetAsync(key, Ct);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Ct);
            return copy.ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            Store.Dispose();
            Direct.Dispose();
            await Proxy.DisposeAsync();
        }
    }
}

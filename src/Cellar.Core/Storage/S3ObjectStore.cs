using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Cellar.Core.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Cellar.Core.Storage;

/// <summary>
/// An S3-compatible bucket as a store (AWS S3, DigitalOcean Spaces, Cloudflare R2, Backblaze B2, MinIO). Content is
/// streamed in parts of <see cref="S3Options.PartSizeBytes"/> (one request when it fits in one part, else a
/// multipart upload), each part's MD5 is checked against the ETag the server answers, and every request is retried
/// with exponential backoff, so an outage shorter than the retry budget costs nothing but time.
/// </summary>
/// <remarks>Over 300 lines on purpose: this is the one place that speaks S3; uploads, parts and their checks, listing and retries share the client, its retry pipeline and its error mapping.</remarks>
internal sealed partial class S3ObjectStore : IObjectStore
{
    private readonly S3Options _options;
    private readonly AmazonS3Client _client;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;

    public S3ObjectStore(S3Options options, ILogger? logger = null, TimeSpan? retryDelay = null)
    {
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RequestChecksumCalculation = options.SdkChecksums ? RequestChecksumCalculation.WHEN_SUPPORTED : RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = options.SdkChecksums ? ResponseChecksumValidation.WHEN_SUPPORTED : ResponseChecksumValidation.WHEN_REQUIRED,
            // Retries are Polly's below: one place that backs off long enough for a restart and logs each attempt.
            MaxErrorRetry = 0,
            // The SDK's default is ~25 days: a connection that stalls must fail (and be retried) instead of holding
            // the offsite pass, and the backups it protects from pruning, forever. Room for a part at 64 KiB/s.
            Timeout = TimeSpan.FromSeconds(Math.Max(300, 2.0 * options.PartSizeBytes / 65536)),
        };
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.AbsoluteUri;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        var credentials = options.CredentialsFile is { } file ? S3CredentialsFile.Read(file, options.Profile) : null;
        _client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(1, options.Retries),
            BackoffType = DelayBackoffType.Exponential,
            Delay = retryDelay ?? TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            UseJitter = true,
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            OnRetry = args =>
            {
                LogRetry(_logger, Location, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public string Location => $"s3://{_options.Bucket}/{_options.Prefix}";

    /// <summary>HTTP requests sent so far, retries included (what a provider bills), for the docs and the bench.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    private long _requests;

    public async Task<PutResult> PutAsync(string key, Stream content, long? length, CancellationToken cancellationToken)
    {
        var objectKey = FullKey(key);
        var partSize = PartSize(_options.PartSizeBytes, length);
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var filled = await FillAsync(content, buffer, partSize, cancellationToken).ConfigureAwait(false);
            sha256.AppendData(buffer, 0, filled);
            if (filled < partSize)
            {
                var md5 = EtagMd5(buffer.AsSpan(0, filled));
                var response = await Run(key, ct => _client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _options.Bucket,
                    Key = objectKey,
                    InputStream = new MemoryStream(buffer, 0, filled, writable: false),
                    UseChunkEncoding = _options.ChunkedEncoding,
                    AutoCloseStream = true,
                }, ct), cancellationToken).ConfigureAwait(false);
                var result = new PutResult(filled, Convert.ToHexStringLower(sha256.GetHashAndReset()));
                await ConfirmAsync(key, response.ETag, [Convert.ToHexStringLower(md5)], trustEtag: true, result, cancellationToken).ConfigureAwait(false);
                return result;
            }

            return await PutMultipartAsync(key, objectKey, content, buffer, partSize, filled, sha256, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<PutResult> PutMultipartAsync(string key, string objectKey, Stream content, byte[] buffer, int partSize, int length, IncrementalHash sha256, CancellationToken cancellationToken)
    {
        var completed = false;
        var trustEtags = true;
        var upload = await Run(key, ct => _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = objectKey }, ct), cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            var partMd5s = new List<byte[]>();
            using var wholeMd5 = EtagMd5();
            long total = 0;
            while (length > 0)
            {
                var number = parts.Count + 1;
                var md5 = EtagMd5(buffer.AsSpan(0, length));
                var partLength = length;
                var response = await Run(key, ct => _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _options.Bucket,
                    Key = objectKey,
                    UploadId = upload.UploadId,
                    PartNumber = number,
                    InputStream = new MemoryStream(buffer, 0, partLength, writable: false),
                    UseChunkEncoding = _options.ChunkedEncoding,
                }, ct), cancellationToken).ConfigureAwait(false);
                // A part's ETag is its MD5 on S3 and most compatible servers, not with SSE-KMS or SSE-C: then the
                // whole object is read back at the end instead.
                trustEtags &= Unquoted(response.ETag).Equals(Convert.ToHexStringLower(md5), StringComparison.OrdinalIgnoreCase);

                parts.Add(new PartETag(number, response.ETag));
                partMd5s.Add(md5);
                wholeMd5.AppendData(buffer, 0, length);
                total += length;
                length = await FillAsync(content, buffer, partSize, cancellationToken).ConfigureAwait(false);
                sha256.AppendData(buffer, 0, length);
            }

            var answer = await Run(key, ct => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = objectKey,
                UploadId = upload.UploadId,
                PartETags = parts,
            }, ct), cancellationToken).ConfigureAwait(false);
            completed = true;
            var result = new PutResult(total, Convert.ToHexStringLower(sha256.GetHashAndReset()));
            // S3 answers MD5(part MD5s)-N; some compatible servers (s3rver) the MD5 of the whole object.
            var multipartEtag = Convert.ToHexStringLower(EtagMd5(partMd5s.SelectMany(m => m).ToArray())) + "-" + parts.Count;
            await ConfirmAsync(key, answer.ETag, [multipartEtag, Convert.ToHexStringLower(wholeMd5.GetHashAndReset())], trustEtags, result, cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch when (!completed)
        {
            // Parts of an abandoned upload are billed until aborted (and a bucket lifecycle rule is the backstop).
            try
            {
                using var abort = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = objectKey, UploadId = upload.UploadId }, abort.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
            {
                LogAbortFailed(_logger, Location + key, e.Message);
            }

            throw;
        }
    }

    /// <summary>
    /// Proves the server holds exactly what was sent: by the ETag when it is the MD5 of what was sent (single or
    /// multipart form), else (encrypted buckets, servers with other ETags) by reading the object back and hashing it.
    /// </summary>
    private async Task ConfirmAsync(string key, string etag, string[] expectedEtags, bool trustEtag, PutResult sent, CancellationToken cancellationToken)
    {
        if (trustEtag && expectedEtags.Contains(Unquoted(etag), StringComparer.OrdinalIgnoreCase))
        {
            return;
        }

        await using var stored = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        using var sha256 = SHA256.Create();
        string? hash;
        try
        {
            hash = Convert.ToHexStringLower(await sha256.ComputeHashAsync(stored, cancellationToken).ConfigureAwait(false));
        }
        catch (ChecksumMismatchException)
        {
            // The SDK checks a download against its ETag where that is an MD5 and throws at the end of the body: the
            // bytes read back are not even the ones the server vouches for, so they prove nothing either.
            hash = null;
        }

        if (hash != sent.Sha256)
        {
            throw new CellarException($"{Location}{key}: the server's checksum {etag} does not match what was sent, and the object read back differs too");
        }
    }

    public async Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = FullKey(key);
        try
        {
            var response = await Run(key, ct => _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = objectKey }, ct), cancellationToken, notFoundPassesThrough: true).ConfigureAwait(false);
            return new ResponseStream(response, Location + key);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(Location, key);
        }
    }

    public async Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = FullKey(key);
        try
        {
            var head = await Run(key, ct => _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = objectKey }, ct), cancellationToken, notFoundPassesThrough: true).ConfigureAwait(false);
            return new StoredObject(key, head.ContentLength, head.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime()) : DateTimeOffset.MinValue);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.CheckPrefix(prefix);
        string? continuation = null;
        do
        {
            var page = await Run(prefix, ct => _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _options.Bucket,
                Prefix = _options.Prefix + prefix,
                ContinuationToken = continuation,
            }, ct), cancellationToken).ConfigureAwait(false);
            foreach (var item in page.S3Objects ?? [])
            {
                yield return new StoredObject(item.Key[_options.Prefix.Length..], item.Size ?? 0, item.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime()) : DateTimeOffset.MinValue);
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = FullKey(key);
        await Run(key, ct => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = objectKey }, ct), cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var batch in keys.Chunk(1000))
        {
            var request = new DeleteObjectsRequest { BucketName = _options.Bucket, Quiet = true, Objects = [.. batch.Select(k => new KeyVersion { Key = FullKey(k) })] };
            var response = await Run(batch[0], ct => _client.DeleteObjectsAsync(request, ct), cancellationToken).ConfigureAwait(false);
            if (response.DeleteErrors is [var first, ..])
            {
                throw new CellarException($"{Location}{first.Key[_options.Prefix.Length..]}: not deleted ({first.Code}: {first.Message})");
            }
        }
    }

    public void Dispose() => _client.Dispose();

    private string FullKey(string key) => _options.Prefix + ObjectKey.Check(key);

    /// <summary>
    /// Runs one request under the retry policy; a final failure becomes one line naming the object, except a 404
    /// for a missing key where the caller asks for it (a missing bucket is always an error).
    /// </summary>
    private async Task<T> Run<T>(string key, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken, bool notFoundPassesThrough = false)
    {
        try
        {
            return await _retry.ExecuteAsync(
                async ct =>
                {
                    Interlocked.Increment(ref _requests);
                    return await request(ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (notFoundPassesThrough && e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new CellarException($"{Location}{key}: {Describe(e)}", e);
        }
    }

    private static string Describe(Exception e) => e switch
    {
        AmazonServiceException { ErrorCode: { Length: > 0 } code } s => $"{code} ({(int)s.StatusCode}): {s.Message}",
        _ when e.InnerException is { } inner => $"{e.Message} ({inner.Message})",
        _ => e.Message,
    };

    /// <summary>Network errors, timeouts, throttling and 5xx are worth another try; 4xx (bad credentials, no bucket) are not.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        AmazonServiceException s when s.StatusCode is >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout => true,
        AmazonServiceException s when s.ErrorCode is "SlowDown" or "RequestTimeout" or "RequestTimeTooSkewed" => true,
        HttpRequestException or IOException or SocketException or TimeoutException => true,
        TaskCanceledException t => t.InnerException is TimeoutException,
        _ => e.InnerException is { } inner && IsTransient(inner),
    };

    private static async Task<int> FillAsync(Stream content, byte[] buffer, int size, CancellationToken cancellationToken) =>
        await content.ReadAtLeastAsync(buffer.AsMemory(0, size), size, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The part size for an object of <paramref name="length"/> bytes (null: unknown): the configured one, or more, in
    /// whole MiB up to 1 GiB, when the object would need over 9,000 parts (S3 allows 10,000).
    /// </summary>
    internal static int PartSize(int configured, long? length)
    {
        const long MiB = 1 << 20;
        var needed = length is { } total ? ((total / 9000) + MiB) / MiB * MiB : 0;
        return (int)Math.Min(Math.Max(configured, needed), 1L << 30);
    }

    /// <summary>MD5 only because S3's ETags are MD5: it checks the transfer; SHA-256 identifies the content.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "S3's ETag protocol, not a security use.")]
    private static byte[] EtagMd5(ReadOnlySpan<byte> bytes) => MD5.HashData(bytes);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "S3's ETag protocol, not a security use.")]
    private static IncrementalHash EtagMd5() => IncrementalHash.CreateHash(HashAlgorithmName.MD5);

    private static string Unquoted(string? etag) => (etag ?? "").Trim('"');

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Location}: attempt {Attempt} in {DelaySeconds:0.0} s after: {Error}")]
    private static partial void LogRetry(ILogger logger, string location, int attempt, double delaySeconds, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Object}: could not abort the unfinished multipart upload ({Error}); a bucket lifecycle rule for incomplete uploads removes it")]
    private static partial void LogAbortFailed(ILogger logger, string @object, string error);

    /// <summary>
    /// The object's body; disposing it releases the response and its connection. The SDK checks the body against the
    /// server's checksum as it ends and throws its own client exception when they differ: that becomes one line naming
    /// the object, like every other failure of this store.
    /// </summary>
    private sealed class ResponseStream(GetObjectResponse response, string name) : ReadOnlyStream
    {
        private readonly Stream _body = response.ResponseStream;

        public override long Length => response.ContentLength;

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return _body.Read(buffer);
            }
            catch (AmazonClientException e)
            {
                throw Damaged(e);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await _body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonClientException e)
            {
                throw Damaged(e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private ChecksumMismatchException Damaged(AmazonClientException e) => new($"{name}: the object read does not match the server's checksum for it ({e.Message})", e);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A body that ended unlike the server's checksum of it: what was read is not what the server holds.</summary>
    private sealed class ChecksumMismatchException(string message, Exception inner) : CellarException(message, inner);
}

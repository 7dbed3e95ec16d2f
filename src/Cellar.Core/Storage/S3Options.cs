namespace Cellar.Core.Storage;

/// <summary>
/// Where and how to reach an S3-compatible bucket. Credentials are never part of it: they come from
/// <see cref="CredentialsFile"/> (an AWS-style credentials file) or the environment (<c>AWS_ACCESS_KEY_ID</c>,
/// <c>AWS_SECRET_ACCESS_KEY</c>), as the AWS SDK reads them.
/// </summary>
internal sealed record S3Options
{
    /// <summary>The bucket.</summary>
    public required string Bucket { get; init; }

    /// <summary>A key prefix inside the bucket (empty, or ending in '/').</summary>
    public string Prefix { get; init; } = "";

    /// <summary>The service URL for anything but AWS (Spaces, R2, B2, MinIO); null for AWS itself.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>The signing region (AWS: the bucket's region; most others accept <c>us-east-1</c> or <c>auto</c>).</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>), which MinIO and test servers need.</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>An AWS-style credentials file (INI) and the profile to take from it.</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>The profile in <see cref="CredentialsFile"/>.</summary>
    public string Profile { get; init; } = "default";

    /// <summary>
    /// The SDK's request checksums: false (default) sends them only where S3 requires them, which every
    /// S3-compatible server understands; true sends CRC checksums on every upload (AWS S3 itself). Cellar checks
    /// every part's MD5 against its ETag either way.
    /// </summary>
    public bool SdkChecksums { get; init; }

    /// <summary>
    /// The SDK's <c>aws-chunked</c> request bodies. Off by default: some S3-compatible servers store the chunk
    /// framing as part of the object (s3rver turned 20,000,000 bytes into 20,022,256).
    /// </summary>
    public bool ChunkedEncoding { get; init; }

    /// <summary>Objects up to this size go up in one request; larger ones in parts of this size (default 16 MiB).</summary>
    public int PartSizeBytes { get; init; } = 16 << 20;

    /// <summary>How many times a failed request is retried, with exponential backoff from 1 s (default 6: about a minute).</summary>
    public int Retries { get; init; } = 6;
}

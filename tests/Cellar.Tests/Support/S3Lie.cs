namespace Cellar.Tests.Support;

/// <summary>The S3 requests Cellar sends, as <see cref="LyingS3Proxy"/> tells them apart.</summary>
public enum S3Call
{
    PutObject,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    GetObject,
    HeadObject,
    DeleteObject,
    ListObjects,
}

/// <summary>What a lying or failing S3 server does to one request.</summary>
public enum S3Fault
{
    /// <summary>Answers with the real ETag changed in one digit: an MD5, but not of the bytes sent.</summary>
    WrongEtag,

    /// <summary>
    /// Answers with an ETag unrelated to the bytes (32 random hex digits) and the headers of an SSE-KMS bucket, as AWS
    /// does under SSE-KMS; told to the upload and to <see cref="S3Call.GetObject"/>, as such a server answers both.
    /// </summary>
    NonMd5Etag,

    /// <summary>Flips one byte of the request body on its way to the server, which stores (and hashes) that.</summary>
    CorruptUpload,

    /// <summary>Flips one byte of the response body on its way back (a read-back that comes back wrong).</summary>
    CorruptDownload,

    /// <summary>Takes the request body and answers 500 InternalError without passing anything on.</summary>
    ServerError,

    /// <summary>Closes the connection when half of the request body has arrived; nothing reaches the server.</summary>
    DropConnection,

    /// <summary>Answers 404 without asking the server (a HEAD that does not see the object).</summary>
    NotFound,

    /// <summary>
    /// Not a lie: answers a CompleteMultipartUpload with the ETag AWS S3 gives a multipart object (the MD5 of the parts'
    /// MD5s, a dash, the number of parts), computed from the part ETags the request lists; s3rver answers the MD5 of
    /// the whole object instead.
    /// </summary>
    AwsMultipartEtag,
}

/// <summary>
/// One lie of <see cref="LyingS3Proxy"/>: <see cref="Fault"/> on requests of kind <see cref="Call"/> (whose key ends
/// with <see cref="KeyEndsWith"/>, when set), after letting <see cref="Skip"/> of them through, for
/// <see cref="Times"/> of them.
/// </summary>
internal sealed record S3Lie(S3Call Call, S3Fault Fault)
{
    public string? KeyEndsWith { get; init; }

    public int Skip { get; init; }

    public int Times { get; init; } = int.MaxValue;

    public bool Matches(S3Call call, string key) =>
        call == Call && (KeyEndsWith is null || key.EndsWith(KeyEndsWith, StringComparison.Ordinal));
}

/// <summary>
/// One request as the proxy saw it: its kind, key, part number, the status answered (0: dropped), the faults applied,
/// and the names of the checksum headers it carried (the SDK's own checksums: <c>x-amz-checksum-*</c>, <c>x-amz-sdk-checksum-*</c>).
/// </summary>
internal sealed record S3Exchange(S3Call Call, string Key, int? Part, int Status, IReadOnlyList<S3Fault> Faults, IReadOnlyList<string> ChecksumHeaders);

namespace Cellar.Core.Storage;

/// <summary>
/// A place backups are copied to: a folder (<see cref="LocalObjectStore"/>) or an S3-compatible bucket
/// (<see cref="S3ObjectStore"/>). Keys are relative, '/'-separated and checked by <see cref="ObjectKey"/>; every
/// backend runs the same conformance tests against this contract. Disposing releases the client (an S3 store's
/// connections); a store is used by one sync or one command and disposed with it.
/// </summary>
internal interface IObjectStore : IDisposable
{
    /// <summary>Where the store points, for messages (<c>s3://bucket/prefix</c>, a folder path); never a secret.</summary>
    string Location { get; }

    /// <summary>
    /// Reads <paramref name="content"/> to its end and stores it under <paramref name="key"/>, replacing an object
    /// of that key. Atomic: until it returns, readers see the previous object or none, never a part; when it throws,
    /// the key holds what it held before. Before returning, the backend proves it holds exactly the bytes read
    /// (S3: every part's MD5 against its ETag, else by reading the object back; a folder: fsync before the rename).
    /// Idempotent: putting the same bytes again leaves one object. When it throws after the server accepted the
    /// bytes (the proof failed), the key may hold them: the caller must not count the copy.
    /// </summary>
    /// <param name="key">Where to store it.</param>
    /// <param name="content">The bytes, read once to the end.</param>
    /// <param name="length">The length when known: S3 sizes its parts by it (at most 10,000 parts per object).</param>
    /// <param name="cancellationToken">Cancels the upload (a multipart upload is aborted).</param>
    /// <returns>The stored size and the SHA-256 of the bytes read.</returns>
    Task<PutResult> PutAsync(string key, Stream content, long? length, CancellationToken cancellationToken);

    /// <summary>Opens the object for reading; <see cref="ObjectNotFoundException"/> when there is none.</summary>
    Task<Stream> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>The object's size and time, or null when there is none. One request; no listing.</summary>
    Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Every object whose key starts with <paramref name="prefix"/> (empty for all), in ordinal key order. Listing
    /// costs requests (one per 1,000 keys on S3): Cellar lists only where a person asked (list, restore from
    /// another machine), never on the backup path.
    /// </summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes the object; deleting a key that does not exist is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every one of <paramref name="keys"/> (S3: up to 1,000 in one request, so a stream's compaction costs a
    /// request, not one per object); keys that do not exist are not an error. Throws naming the first key not deleted.
    /// </summary>
    Task DeleteManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}

/// <summary>One stored object as a listing or a stat shows it.</summary>
internal sealed record StoredObject(string Key, long SizeBytes, DateTimeOffset LastModified);

/// <summary>What <see cref="IObjectStore.PutAsync"/> stored: its size and the SHA-256 (lowercase hex) of its bytes.</summary>
internal sealed record PutResult(long SizeBytes, string Sha256);

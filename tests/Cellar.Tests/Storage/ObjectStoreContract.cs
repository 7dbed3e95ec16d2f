using System.Security.Cryptography;
using Cellar.Core.Storage;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Storage;

/// <summary>
/// The contract of <see cref="IObjectStore"/>, run against every backend: the derived classes only say how to make
/// a fresh, empty store.
/// </summary>
public abstract class ObjectStoreContract : IAsyncLifetime
{
    /// <summary>The part size stores are made with: small, so a 12 MiB object goes up in three parts.</summary>
    protected const int PartSize = 5 << 20;

    private protected IObjectStore Store { get; private set; } = null!;

    private protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<IObjectStore> CreateAsync();

    public async ValueTask InitializeAsync() => Store = await CreateAsync();

    public async ValueTask DisposeAsync()
    {
        Store.Dispose();
        await DisposeBackendAsync();
        GC.SuppressFinalize(this);
    }

    private protected abstract ValueTask DisposeBackendAsync();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(PartSize - 1)]
    [InlineData(PartSize)]
    [InlineData((3 * PartSize) - 17)]
    [InlineData(20_000_000)]
    public async Task What_is_put_comes_back_byte_identical_with_its_size_and_hash(int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);

        var put = await Store.PutAsync("daily/backup.sqlite.gz", new MemoryStream(bytes), null, Ct);

        Assert.Equal(size, put.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), put.Sha256);
        Assert.Equal(size, (await Store.StatAsync("daily/backup.sqlite.gz", Ct))!.SizeBytes);
        Assert.Equal(bytes, await ReadAsync("daily/backup.sqlite.gz"));
    }

    [Fact]
    public async Task A_second_put_replaces_the_object_and_a_repeated_one_changes_nothing()
    {
        await Store.PutAsync("k/one", new MemoryStream("first"u8.ToArray()), null, Ct);
        await Store.PutAsync("k/one", new MemoryStream("second"u8.ToArray()), null, Ct);
        await Store.PutAsync("k/one", new MemoryStream("second"u8.ToArray()), null, Ct);

        Assert.Equal("second"u8.ToArray(), await ReadAsync("k/one"));
        Assert.Single(await ListAsync("k/"));
    }

    [Fact]
    public async Task A_put_that_fails_midway_leaves_the_previous_object_and_nothing_else()
    {
        await Store.PutAsync("k/one", new MemoryStream("before"u8.ToArray()), null, Ct);

        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync("k/one", new FailingStream(3 * PartSize / 2), null, Ct));

        Assert.Equal("before"u8.ToArray(), await ReadAsync("k/one"));
        Assert.Equal(["k/one"], (await ListAsync("")).Select(o => o.Key));
    }

    [Fact]
    public async Task Missing_objects_are_not_found_on_get_null_on_stat_and_no_error_on_delete()
    {
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.GetAsync("no/such", Ct));
        Assert.Null(await Store.StatAsync("no/such", Ct));
        await Store.DeleteAsync("no/such", Ct);

        await Store.PutAsync("yes/here", new MemoryStream([1, 2, 3]), null, Ct);
        await Store.DeleteAsync("yes/here", Ct);
        await Store.DeleteAsync("yes/here", Ct);
        Assert.Null(await Store.StatAsync("yes/here", Ct));
    }

    [Fact]
    public async Task Deleting_many_removes_exactly_those_keys_missing_ones_included()
    {
        foreach (var key in new[] { "s/1", "s/2", "s/3", "t/1" })
        {
            await Store.PutAsync(key, new MemoryStream([1]), null, Ct);
        }

        await Store.DeleteManyAsync(["s/1", "s/3", "s/missing"], Ct);
        Assert.Equal(["s/2", "t/1"], (await ListAsync("")).Select(o => o.Key));
    }

    [Fact]
    public async Task Listing_a_prefix_returns_its_objects_in_key_order()
    {
        foreach (var key in new[] { "db/daily/b.gz", "db/daily/a.gz", "db/daily/a.gz.json", "db/social/c.sql.gz", "dbx/daily/z.gz" })
        {
            await Store.PutAsync(key, new MemoryStream([7]), null, Ct);
        }

        Assert.Equal(["db/daily/a.gz", "db/daily/a.gz.json", "db/daily/b.gz"], (await ListAsync("db/daily/")).Select(o => o.Key));
        Assert.Equal(["db/daily/a.gz", "db/daily/a.gz.json"], (await ListAsync("db/daily/a")).Select(o => o.Key));
        Assert.Equal(5, (await ListAsync("")).Count);
        Assert.Empty(await ListAsync("nothing/"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/absolute")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    [InlineData(".hidden")]
    [InlineData("a\\b")]
    [InlineData("a\0b")]
    [InlineData("")]
    public async Task Hostile_keys_are_refused_before_anything_is_stored(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream([1]), null, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync(key, Ct));
        Assert.Empty(await ListAsync(""));
    }

    [Theory]
    [InlineData("../")]
    [InlineData("/absolute/")]
    [InlineData("a//")]
    [InlineData(".hidden/")]
    [InlineData("a/../")]
    public async Task Hostile_prefixes_are_refused_before_anything_is_listed(string prefix)
    {
        await Store.PutAsync("a/b", new MemoryStream([1]), null, Ct);

        await Assert.ThrowsAsync<ArgumentException>(() => ListAsync(prefix));
    }

    private protected async Task<byte[]> ReadAsync(string key)
    {
        await using var stream = await Store.GetAsync(key, Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    private protected async Task<List<StoredObject>> ListAsync(string prefix)
    {
        var found = new List<StoredObject>();
        await foreach (var item in Store.ListAsync(prefix, Ct))
        {
            found.Add(item);
        }

        return found;
    }

    /// <summary>A source that yields <c>length</c> bytes and then fails, as a disk error during an upload would.</summary>
    private sealed class FailingStream(int length) : Core.IO.ReadOnlyStream
    {
        private int _left = length;

        public override int Read(Span<byte> buffer)
        {
            if (_left == 0)
            {
                throw new IOException("injected read failure");
            }

            var n = Math.Min(buffer.Length, _left);
            buffer[..n].Fill(0x5a);
            _left -= n;
            return n;
        }
    }
}

/// <summary>The contract on a folder.</summary>
public sealed class LocalObjectStoreTests : ObjectStoreContract
{
    private const int EIO = 5;

    private readonly TempFolder _folder = new();

    private protected override Task<IObjectStore> CreateAsync() =>
        Task.FromResult<IObjectStore>(new LocalObjectStore(Directory.CreateDirectory(_folder.Combine("store")).FullName));

    private protected override ValueTask DisposeBackendAsync()
    {
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_missing_root_is_an_unmounted_disk_and_nothing_is_written_in_its_place()
    {
        var unmounted = new LocalObjectStore(_folder.Combine("mnt", "nas"));

        var error = await Assert.ThrowsAsync<Core.CellarException>(() => unmounted.PutAsync("daily/a.gz", new MemoryStream([1]), null, Ct));

        Assert.Contains("not mounted", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder.Combine("mnt")));
    }

    [Fact]
    public async Task Objects_are_owner_only_files_and_temp_files_are_never_listed()
    {
        await Store.PutAsync("daily/a.gz", new MemoryStream([1, 2]), null, Ct);
        await File.WriteAllBytesAsync(_folder.Combine("store", "daily", ".a.gz.cellar-tmp-0123abcd"), [9], Ct);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_folder.Combine("store", "daily", "a.gz")));
        Assert.Equal(["daily/a.gz"], (await ListAsync("")).Select(o => o.Key));
    }

    [Theory]
    [InlineData("data")]
    [InlineData("folder")]
    public async Task A_put_whose_fsync_fails_fails_and_leaves_no_object(string point)
    {
        var folder = _folder.Combine("store", "daily");
        await Store.PutAsync("daily/a.gz", new MemoryStream([1]), null, Ct);
        Core.IO.FaultInjection.Fsync = path => (point == "data" ? path.Contains(".cellar-tmp-", StringComparison.Ordinal) : path == folder) ? EIO : 0;
        try
        {
            await Assert.ThrowsAsync<Core.IO.SyncFailedException>(() => Store.PutAsync("daily/b.gz", new MemoryStream([2]), null, Ct));
        }
        finally
        {
            Core.IO.FaultInjection.Fsync = null;
        }

        Assert.Equal(["a.gz"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_delete_whose_folder_cannot_be_synced_fails()
    {
        var folder = _folder.Combine("store", "daily");
        await Store.PutAsync("daily/a.gz", new MemoryStream([1]), null, Ct);
        Core.IO.FaultInjection.Fsync = path => path == folder ? EIO : 0;
        try
        {
            await Assert.ThrowsAsync<Core.IO.SyncFailedException>(() => Store.DeleteAsync("daily/a.gz", Ct));
        }
        finally
        {
            Core.IO.FaultInjection.Fsync = null;
        }
    }
}

/// <summary>The contract on a real S3-compatible server (s3rver) on loopback.</summary>
public sealed class S3ObjectStoreTests : ObjectStoreContract
{
    private S3Server? _server;

    private protected override async Task<IObjectStore> CreateAsync()
    {
        _server = await S3Server.StartAsync(Ct);
        return new S3ObjectStore(_server.Options("backups/") with { PartSizeBytes = PartSize, Retries = 2 }, retryDelay: TimeSpan.FromMilliseconds(50));
    }

    private protected override async ValueTask DisposeBackendAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_store_sees_only_its_prefix()
    {
        using var other = new S3ObjectStore(_server!.Options("elsewhere/"));
        await other.PutAsync("daily/a.gz", new MemoryStream([1]), null, Ct);
        await Store.PutAsync("daily/b.gz", new MemoryStream([2]), null, Ct);

        Assert.Equal(["daily/b.gz"], (await ListAsync("")).Select(o => o.Key));
        Assert.Null(await Store.StatAsync("daily/a.gz", Ct));
    }

    [Fact]
    public async Task The_sdks_chunked_bodies_are_off_by_default_because_they_change_stored_sizes_here()
    {
        var bytes = RandomNumberGenerator.GetBytes(PartSize - 1);
        using var chunked = new S3ObjectStore(_server!.Options("chunked/") with { ChunkedEncoding = true, PartSizeBytes = PartSize });

        // s3rver keeps the aws-chunked framing as part of the object: the put fails its proof instead of counting a
        // wrong object, and what the server holds is indeed not what was sent.
        var error = await Assert.ThrowsAsync<Core.CellarException>(() => chunked.PutAsync("a", new MemoryStream(bytes), null, Ct));
        Assert.Contains("does not match what was sent", error.Message, StringComparison.Ordinal);
        Assert.True((await chunked.StatAsync("a", Ct))!.SizeBytes > bytes.Length, "the server was to store the chunk framing too");

        await Store.PutAsync("a", new MemoryStream(bytes), null, Ct);
        Assert.Equal(bytes.Length, (await Store.StatAsync("a", Ct))!.SizeBytes);
    }
}

using System.Security.Cryptography;
using Cellar.Core.Storage;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Storage;

/// <summary>
/// S3 takes at most 10,000 parts per object: the part size is raised for objects that would need more, and only for
/// those, and the store cuts an object of known length by that size.
/// </summary>
public sealed class S3PartSizeTests(SharedS3Server shared) : IClassFixture<SharedS3Server>
{
    private const long MiB = 1 << 20;

    /// <summary>S3's largest object.</summary>
    private const long FiveTiB = 5L << 40;

    [Theory]
    [InlineData(16, null, 16)] // length unknown: as configured
    [InlineData(16, 0L, 16)]
    [InlineData(16, 1L << 30, 16)] // 1 GiB: 64 parts
    [InlineData(16, 140L << 30, 16)] // 8,960 parts: under 9,000, kept
    [InlineData(16, 150L << 30, 18)] // 9,600 parts at 16 MiB; 8,534 at 18
    [InlineData(5, 100L << 30, 12)] // 20,480 parts at 5 MiB; 8,534 at 12
    [InlineData(16, FiveTiB, 583)] // 8,993 parts
    [InlineData(512, 1L << 40, 512)] // 2,048 parts: a large configured size is kept
    [InlineData(512, 10L << 40, 1024)] // past S3's largest object: capped at 1 GiB
    public void The_part_size_is_raised_to_stay_under_10_000_parts(int configuredMiB, long? length, int expectedMiB)
    {
        Assert.Equal(expectedMiB * MiB, S3ObjectStore.PartSize((int)(configuredMiB * MiB), length));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(512)]
    public void Every_object_up_to_5_TiB_fits_in_10_000_parts_and_one_under_9_000_keeps_the_configured_size(int configuredMiB)
    {
        var configured = (int)(configuredMiB * MiB);
        for (var length = 1L; length <= FiveTiB; length = (length * 5 / 4) + 1)
        {
            var size = S3ObjectStore.PartSize(configured, length);
            var parts = (length + size - 1) / size;

            Assert.True(parts <= 10_000, $"{length} bytes in {parts} parts of {size}");
            Assert.True(size >= configured, $"{length} bytes: part size {size} below the configured {configured}");
            Assert.True(size <= 1 << 30, $"{length} bytes: part size {size} over 1 GiB");
            if ((length + configured - 1) / configured < 9_000)
            {
                Assert.True(size == configured, $"{length} bytes fit in fewer than 9,000 parts of {configured}, yet the part size became {size}");
            }
        }
    }

    [Fact]
    public async Task An_object_of_known_length_goes_up_in_parts_of_the_size_chosen_for_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await shared.GetAsync(ct);
        await using var proxy = await LyingS3Proxy.StartAsync(server, ct);
        const int Configured = 64 << 10;
        var bytes = RandomNumberGenerator.GetBytes((3 << 20) + 1);
        var size = S3ObjectStore.PartSize(Configured, bytes.Length);
        Assert.True(size > Configured, "the length must raise the part size here");
        using var store = new S3ObjectStore(proxy.Options(SharedS3Server.FreshPrefix()) with { PartSizeBytes = Configured });

        await store.PutAsync("a", new MemoryStream(bytes), bytes.Length, ct);

        Assert.Equal((bytes.Length + size - 1) / size, proxy.Count(S3Call.UploadPart));
    }
}

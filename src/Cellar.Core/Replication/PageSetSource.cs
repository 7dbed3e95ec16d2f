using System.Buffers.Binary;
using System.Security.Cryptography;
using Cellar.Core.Artifacts;
using Cellar.Core.Catalog;
using Cellar.Core.Compression;
using Cellar.Core.IO;
using Cellar.Core.Wal;

namespace Cellar.Core.Replication;

/// <summary>
/// What a page set hands the <see cref="ArtifactWriter"/>: the pinned image read side by side with the image its
/// parent chain rebuilds (each of those files checked to its last byte on the way), every page that differs written
/// out as its change from the parent's where that is smaller (<see cref="PageDelta"/>; a page past the parent's end
/// as it is), and the image's SHA-256 recorded, so a restore proves the whole chain by one
/// hash. Proven as every artifact's blocks are, with every byte generated counted in.
/// </summary>
internal sealed class PageSetSource(BaseImage image, IReadOnlyList<StreamBaseImage> parent, long txid) : ArtifactSource
{
    private long _bytes;
    private int _count;

    /// <inheritdoc/>
    public override ArtifactKind Kind => PageSetKind.Instance;

    /// <inheritdoc/>
    public override Task<DateTimeOffset> TakeAsync(CancellationToken cancellationToken) => Task.FromResult(image.Taken);

    /// <summary>The pages are found on one thread while the writer compresses them on the others.</summary>
    public override Task<(string Sha, long Size)> StoreAsync(ArtifactTarget target, CancellationToken cancellationToken) =>
        target.WriteAsync(Produce, null, cancellationToken);

    /// <inheritdoc/>
    public override Task<string?> ProveAsync(ArtifactTarget target, CancellationToken cancellationToken) =>
        Task.FromResult(target.Shortfall(_bytes, "the page set"));

    /// <inheritdoc/>
    public override Sidecar Describe(Sidecar common) => common with
    {
        SourcePageSize = image.PageSize,
        SourcePageCount = image.Pages,
        SourceBytes = image.Pages * image.PageSize,
        JournalMode = "wal",
        RowCounts = new SortedDictionary<string, long>(StringComparer.Ordinal) { [PageSetKind.ChangedPages] = _count },
    };

    private void Produce(Stream output, CancellationToken cancellationToken)
    {
        var pageSize = image.PageSize;
        using var chain = BaseChain.Open(parent, pageSize);
        using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffered = new BufferedStream(output, 1 << 20);
        void Write(ReadOnlySpan<byte> bytes)
        {
            content.AppendData(bytes);
            buffered.Write(bytes);
            _bytes += bytes.Length;
        }

        Write(PageSet.Header(txid, parent[^1].Txid, pageSize, image.Pages));
        var before = Array.Empty<byte>();
        var entry = new byte[8];
        using var delta = new PageDelta();
        var change = new byte[PageDelta.Bound(pageSize)];
        image.Read(
            (first, block) =>
            {
                var pages = block.Span;
                whole.AppendData(pages);
                if (before.Length < pages.Length)
                {
                    before = new byte[pages.Length];
                }

                var had = chain.Read(before.AsSpan(0, pages.Length));
                for (var i = 0; i < pages.Length / pageSize; i++)
                {
                    var page = pages.Slice(i * pageSize, pageSize);
                    if (i >= had || !page.SequenceEqual(before.AsSpan(i * pageSize, pageSize)))
                    {
                        var length = i < had ? delta.Encode(page, before.AsSpan(i * pageSize, pageSize), change) : pageSize;
                        var stored = length < pageSize ? change.AsSpan(0, length) : page;
                        BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)(first + i));
                        BinaryPrimitives.WriteInt32LittleEndian(entry.AsSpan(4), stored.Length);
                        Write(entry);
                        Write(stored);
                        _count++;
                    }
                }
            },
            cancellationToken);

        // The parent's pages past the image's end, then every file of the chain to its last byte.
        var rest = new byte[pageSize];
        while (chain.Read(rest) > 0)
        {
        }

        var trailer = PageSet.Trailer(_count, whole.GetHashAndReset(), content);
        buffered.Write(trailer);
        buffered.Flush();
        _bytes += trailer.Length;
    }
}

using Cellar.Core.Compression;
using Cellar.Core.IO;

namespace Cellar.Core.Replication;

/// <summary>
/// Reads the image a chain of bases makes, page by page in order, without writing anything between: a full base, then
/// each page set over the one before it (<see cref="PageSet"/>), oldest first, each changing the page the one before
/// made (by its change, <see cref="PageDelta"/>, or replacing it). Every
/// file is read once, straight through, and checked as it goes: its stored bytes against its sidecar's SHA-256, each
/// page set's own checksum and its place in the chain. The image itself is proven by its caller, who hashes what this
/// gives and compares it with <see cref="ImageHash"/>.
/// </summary>
internal sealed class BaseChain : IDisposable
{
    private readonly IReadOnlyList<StreamBaseImage> _chain;
    private readonly Stream[] _stored;
    private readonly Task<byte[]>[] _hashes;
    private readonly CancellationTokenSource _hashing;
    private readonly Stream[] _expanded;
    private readonly PageSet.Reader[] _sets;
    private readonly long _rootPages;
    private readonly PageDelta _delta = new();
    private readonly byte[] _made;
    private long _next = 1;
    private bool _finished;

    private BaseChain(IReadOnlyList<StreamBaseImage> chain, Stream[] stored, Task<byte[]>[] hashes, CancellationTokenSource hashing, Stream[] expanded, PageSet.Reader[] sets, long rootPages, int pageSize)
    {
        (_chain, _stored, _hashes, _hashing, _expanded, _sets, _rootPages, PageSize) = (chain, stored, hashes, hashing, expanded, sets, rootPages, pageSize);
        Pages = sets is [.., var newest] ? newest.Pages : rootPages;
        _made = new byte[pageSize];
    }

    /// <summary>The page size.</summary>
    public int PageSize { get; }

    /// <summary>The image's page count.</summary>
    public long Pages { get; }

    /// <summary>What the image must hash to, as the newest page set records it (null: the chain is a full base alone, proven by its own sidecar).</summary>
    public byte[]? ImageHash => _sets is [.., var newest] ? newest.ImageHash : null;

    /// <summary>Opens <paramref name="chain"/> (a full base first, then page sets each over the one before) of a generation whose pages are <paramref name="pageSize"/> bytes.</summary>
    public static BaseChain Open(IReadOnlyList<StreamBaseImage> chain, int pageSize)
    {
        if (chain is not [{ Full: true } root, ..] || chain.Skip(1).Any(b => b.Full))
        {
            throw new ArgumentException("a chain is one full base and then page sets", nameof(chain));
        }

        var stored = new List<Stream>();
        var expanded = new List<Stream>();
        var sets = new PageSet.Reader[chain.Count - 1];
        var hashing = new CancellationTokenSource();
        var hashes = new List<Task<byte[]>>();
        try
        {
            foreach (var image in chain)
            {
                // Each file is opened twice, one open decompressed and the other hashed on another core, so the check
                // costs no time of the rebuild's; both must be the very same file (device and inode). One handle read
                // from two threads will not do: a FileStream's buffering over a handle others read is not safe.
                var file = new FileStream(image.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
                stored.Add(file);
                var hashed = new FileStream(image.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
                if (UnixFiles.FStat(hashed.SafeFileHandle)?.Id is not { } id || UnixFiles.FStat(file.SafeFileHandle)?.Id != id)
                {
                    hashed.Dispose();
                    throw new CellarException($"base {image.Path} was replaced while it was opened");
                }

                hashes.Add(Task.Run(() => Hash(hashed, hashing.Token), hashing.Token));
                var codec = Codec.Named(image.Sidecar.Compression)
                    ?? throw new CellarException($"base {image.Path}: its sidecar names a compression ('{image.Sidecar.Compression}') this version cannot read");
                expanded.Add(codec.OpenRead(stored[^1]));
            }

            for (var i = 1; i < chain.Count; i++)
            {
                var set = new PageSet.Reader(expanded[i], chain[i].Path);
                sets[i - 1] = set;
                Explained(chain, set.Start);
                if (set.Txid != chain[i].Txid || set.Parent != chain[i - 1].Txid || set.PageSize != pageSize)
                {
                    throw new CellarException($"page set {chain[i].Path} is not the one its place in the chain needs (transaction {set.Txid} over {set.Parent}, pages of {set.PageSize} bytes)");
                }
            }

            return new BaseChain(chain, [.. stored], [.. hashes], hashing, [.. expanded], sets, root.Sidecar.SourceBytes / pageSize, pageSize);
        }
        catch
        {
            hashing.Cancel();
            Settle(hashes);
            hashing.Dispose();
            Array.ForEach(sets, s => s?.Dispose());
            expanded.ForEach(s => s.Dispose());
            stored.ForEach(s => s.Dispose());
            throw;
        }
    }

    /// <summary>
    /// Writes the image <paramref name="chain"/> makes into the new file <paramref name="path"/> (owner-only; not fsynced:
    /// the restore fsyncs it once its transactions are applied) and proves it: every file of the chain as its sidecar recorded, and the image hashing to what the newest page set
    /// recorded. Throws, in one line, when anything is off. Returns the file as created (device and inode).
    /// </summary>
    public static UnixFiles.FileId? Expand(IReadOnlyList<StreamBaseImage> chain, int pageSize, string path, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        using var bases = Open(chain, pageSize);
        using var output = SecureFiles.CreateNew(path);
        var created = UnixFiles.FStat(output.SafeFileHandle)?.Id;

        // A whole base alone is proven by its stored bytes' hash; only a page set's image is hashed as it is written.
        using var image = chain.Count == 1 ? null : new HashingStream(output, leaveOpen: true);
        Stream target = (Stream?)image ?? output;
        var block = new byte[Math.Max(1, (1 << 20) / pageSize) * pageSize];
        int pages;
        long done = 0;
        while ((pages = bases.Read(block)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            target.Write(block, 0, pages * pageSize);
            done += pages;
            progress?.Report((double)done / Math.Max(1, bases.Pages));
        }

        if (bases.ImageHash is { } expected && !Convert.FromHexString(image!.HexHash()).AsSpan().SequenceEqual(expected))
        {
            throw new CellarException($"the bases up to {chain[^1].Path} rebuild an image other than the one it recorded; a file of its chain is not the one it was made over");
        }

        return created;
    }

    /// <summary>
    /// Fills <paramref name="block"/> (a whole number of pages) with the image's next pages; returns how many (0 at the
    /// end, after which every file is checked to its last byte).
    /// </summary>
    public int Read(Span<byte> block)
    {
        try
        {
            return ReadPages(block);
        }
        catch (CellarException e)
        {
            throw Explain(_chain, e);
        }
    }

    public void Dispose()
    {
        foreach (var set in _sets)
        {
            set.Dispose();
        }

        _delta.Dispose();

        // A rebuild given up: the hashing reads stop too, before their files close.
        _hashing.Cancel();
        Settle(_hashes);
        _hashing.Dispose();
        foreach (var stream in _expanded.Concat(_stored))
        {
            stream.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/>; a file of the chain found damaged is said as what it most likely is, when it is:
    /// a file whose bytes are not the ones its sidecar recorded.
    /// </summary>
    private static void Explained(IReadOnlyList<StreamBaseImage> chain, Action read)
    {
        try
        {
            read();
        }
        catch (CellarException e)
        {
            throw Explain(chain, e);
        }
    }

    /// <summary>The SHA-256 of <paramref name="file"/> from its start; closes it.</summary>
    private static async Task<byte[]> Hash(FileStream file, CancellationToken cancellationToken)
    {
        await using (file)
        {
            return await System.Security.Cryptography.SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for hashing reads that were told to stop, whatever they ended with.</summary>
    private static void Settle(IEnumerable<Task<byte[]>> hashes)
    {
        foreach (var hash in hashes)
        {
            hash.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Wait(CancellationToken.None);
        }
    }

    private static CellarException Explain(IReadOnlyList<StreamBaseImage> chain, CellarException found)
    {
        try
        {
            foreach (var image in chain)
            {
                using var file = new FileStream(image.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
                if (Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file)) != image.Sidecar.Sha256)
                {
                    return new CellarException(Mismatch(image), found);
                }
            }
        }
        catch (IOException)
        {
            // A file of the chain gone meanwhile: what was found stands.
        }

        return found;
    }

    private static string Mismatch(StreamBaseImage image) => $"base {image.Path} does not match its sidecar's SHA-256; it is damaged";

    private int ReadPages(Span<byte> block)
    {
        var count = (int)Math.Clamp(Pages - _next + 1, 0, block.Length / PageSize);
        var fromRoot = (int)Math.Clamp(_rootPages - _next + 1, 0, count);
        if (fromRoot > 0)
        {
            ReadRoot(block[..(fromRoot * PageSize)]);
        }

        for (var i = 0; i < count; i++, _next++)
        {
            var page = block.Slice(i * PageSize, PageSize);
            var known = i < fromRoot;
            var parentPages = _rootPages;
            for (var s = 0; s < _sets.Length; s++)
            {
                var set = _sets[s];
                if (set.Current == _next)
                {
                    if (set.IsChange)
                    {
                        if (!known || _next > parentPages)
                        {
                            throw new CellarException($"page set {_chain[s + 1].Path}: page {_next} is a change from a page no base before it holds");
                        }

                        Decode(s, set.Data, page);
                    }
                    else
                    {
                        set.Data.CopyTo(page);
                        known = true;
                    }

                    set.Next();
                }

                parentPages = set.Pages;
            }

            if (!known)
            {
                throw new CellarException($"page set {_chain[^1].Path}: page {_next} is in no base of its chain");
            }
        }

        if (count == 0 && !_finished)
        {
            Finish();
            _finished = true;
        }

        return count;
    }

    /// <summary>Makes <paramref name="page"/> (the parent's version) into what the change <paramref name="change"/> of page set <paramref name="set"/> says.</summary>
    private void Decode(int set, ReadOnlySpan<byte> change, Span<byte> page)
    {
        try
        {
            _delta.Decode(change, page, _made);
        }
        catch (InvalidDataException e)
        {
            throw new CellarException($"page set {_chain[set + 1].Path} is damaged: page {_next} does not decode ({e.Message})", e);
        }

        _made.CopyTo(page);
    }

    private int ReadRootTail(Span<byte> after)
    {
        try
        {
            return _expanded[0].Read(after);
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new CellarException($"base {_chain[0].Path} is damaged ({e.Message})", e);
        }
    }

    private void ReadRoot(Span<byte> pages)
    {
        try
        {
            _expanded[0].ReadExactly(pages);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new CellarException($"base {_chain[0].Path} is damaged ({e.Message})", e);
        }
    }

    /// <summary>Reads what the image did not need (pages past its end), then checks every file whole against its sidecar.</summary>
    private void Finish()
    {
        var rest = new byte[PageSize];
        for (; _next <= _rootPages; _next++)
        {
            ReadRoot(rest);
        }

        var after = new byte[1];
        if (ReadRootTail(after) != 0)
        {
            throw new CellarException($"base {_chain[0].Path} holds more than its sidecar's {_chain[0].Sidecar.SourceBytes} bytes");
        }

        foreach (var set in _sets)
        {
            while (set.Current != 0)
            {
                set.Next();
            }
        }

        for (var i = 0; i < _chain.Count; i++)
        {
            byte[] hash;
            try
            {
                hash = _hashes[i].GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                throw new CellarException($"base {_chain[i].Path} cannot be read ({e.Message})", e);
            }

            if (Convert.ToHexStringLower(hash) != _chain[i].Sidecar.Sha256)
            {
                throw new CellarException(Mismatch(_chain[i]));
            }
        }
    }
}

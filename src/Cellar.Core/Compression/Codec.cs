namespace Cellar.Core.Compression;

/// <summary>
/// One compression format, cut into independent blocks: each block compresses to a self-contained
/// gzip member or zstd frame, so blocks compress in parallel and the standard tools still read the
/// concatenation as a single stream.
/// </summary>
internal abstract class Codec
{
    /// <summary>The file extension appended to backup names, with its dot, or empty.</summary>
    public abstract string Extension { get; }

    /// <summary>The format this codec writes.</summary>
    public abstract CompressionKind Kind { get; }

    /// <summary>Bytes per independent block: large enough that restarting the dictionary costs nothing measurable.</summary>
    public virtual int BlockSize => 4 << 20;

    /// <summary>
    /// Compresses one block into self-contained members or frames, in a buffer rented from the shared pool: the runs of
    /// it that will not shrink (<see cref="ChunkEntropy"/>) in the format's own stored form, at the speed of a copy, the
    /// rest compressed. Returns the buffer; <paramref name="length"/> is how much of it holds the output.
    /// </summary>
    public virtual byte[] CompressBlock(ReadOnlySpan<byte> block, out int length)
    {
        var runs = ChunkEntropy.Runs(block);
        if (runs is [{ Store: false }])
        {
            return Compress(block, out length);
        }

        var pieces = new List<(byte[] Buffer, int Length)>(runs.Count);
        try
        {
            foreach (var (offset, runLength, store) in runs)
            {
                var run = block.Slice(offset, runLength);
                if (store)
                {
                    var stored = System.Buffers.ArrayPool<byte>.Shared.Rent(StoredLength(runLength));
                    pieces.Add((stored, Store(run, stored)));
                }
                else
                {
                    var compressed = Compress(run, out var compressedLength);
                    pieces.Add((compressed, compressedLength));
                }
            }

            var output = System.Buffers.ArrayPool<byte>.Shared.Rent(pieces.Sum(p => p.Length));
            length = 0;
            foreach (var (buffer, pieceLength) in pieces)
            {
                buffer.AsSpan(0, pieceLength).CopyTo(output.AsSpan(length));
                length += pieceLength;
            }

            return output;
        }
        finally
        {
            pieces.ForEach(p => System.Buffers.ArrayPool<byte>.Shared.Return(p.Buffer));
        }
    }

    /// <summary>Compresses <paramref name="block"/> into one member or frame, in a rented buffer; <paramref name="length"/> is its length.</summary>
    protected abstract byte[] Compress(ReadOnlySpan<byte> block, out int length);

    /// <summary>The length of <paramref name="length"/> bytes in the format's stored (uncompressed) form.</summary>
    protected abstract int StoredLength(int length);

    /// <summary>Writes <paramref name="run"/> as one member or frame of stored data into <paramref name="destination"/>; returns its length.</summary>
    protected abstract int Store(ReadOnlySpan<byte> run, Span<byte> destination);

    /// <summary>Wraps a stream of concatenated blocks for reading.</summary>
    public abstract Stream OpenRead(Stream compressed);

    /// <summary>
    /// Null when the first <paramref name="length"/> bytes of <paramref name="stored"/> decompress, through the reader a
    /// restore uses (<see cref="OpenRead"/>), to exactly <paramref name="original"/> and nothing more; else what differs.
    /// </summary>
    public string? Disagreement(byte[] stored, int length, ReadOnlySpan<byte> original)
    {
        using var expanded = OpenRead(new MemoryStream(stored, 0, length, writable: false));
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(256 << 10);
        var offset = 0;
        try
        {
            while (true)
            {
                var read = expanded.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                var expected = Math.Min(read, original.Length - offset);
                if (!buffer.AsSpan(0, expected).SequenceEqual(original.Slice(offset, expected)))
                {
                    return $"differs at byte {offset + buffer.AsSpan(0, expected).CommonPrefixLength(original.Slice(offset, expected))}";
                }

                if (read > expected)
                {
                    return $"holds more than the {original.Length} bytes that went in";
                }

                if (read == 0)
                {
                    return offset == original.Length ? null : $"ends after {offset} of its {original.Length} bytes";
                }

                offset += read;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
        {
            // A damaged gzip member or zstd frame stops the decoder before any compare. A zstd frame cut short ends in
            // EndOfStreamException ("Premature end of stream").
            return $"does not decompress after byte {offset} ({e.Message})";
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The codec for <paramref name="kind"/> at <paramref name="level"/> (null: the format's default).</summary>
    public static Codec For(CompressionKind kind, int? level = null) => kind switch
    {
        CompressionKind.Gzip => new GzipCodec(level ?? GzipCodec.DefaultLevel),
        CompressionKind.Zstd => new ZstdCodec(level ?? ZstdCodec.DefaultLevel),
        CompressionKind.None => new NoneCodec(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The format's name as a sidecar records it: <c>gzip</c>, <c>zstd</c> or <c>none</c>.</summary>
    public string Name => Kind.ToString().ToLowerInvariant();

    /// <summary>
    /// The codec a sidecar's <see cref="Name"/> names, or null for one this version cannot read. A stored file is read
    /// by what its sidecar records, never by its extension: a file renamed or downloaded under another name still reads.
    /// </summary>
    public static Codec? Named(string name) =>
        Enum.GetValues<CompressionKind>().Select(kind => For(kind)).FirstOrDefault(codec => codec.Name == name);
}

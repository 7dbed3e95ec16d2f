using System.Buffers;
using System.Security.Cryptography;
using Cellar.Core.IO;

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// A read-only stream of the encryption (docs/encryption-format.md) of whatever its source yields from its position
/// when wrapped, produced one chunk at a time so memory stays at about two chunks whatever the file's size.
/// </summary>
internal sealed class EncryptingStream : ReadOnlyStream
{
    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly int _chunkSize;
    private readonly long? _length;
    private readonly byte[] _header = new byte[EncryptionFormat.HeaderLength];
    private readonly AesGcm _cipher;
    private readonly byte[] _nonce = new byte[EncryptionFormat.NonceLength];

    // One byte beyond a chunk is read ahead: a full chunk is the last one only when nothing follows it.
    private readonly byte[] _plain;
    private readonly byte[] _sealed;
    private int _carried;
    private long _index;
    private bool _sealedFinal;

    private byte[] _out;
    private int _outAt;
    private int _outEnd;
    private long _position;
    private bool _disposed;

    /// <summary>Wraps <paramref name="plaintext"/>, encrypting it under <paramref name="key"/> with a fresh random salt.</summary>
    public EncryptingStream(Stream plaintext, EncryptionKey key, int chunkExponent = EncryptionFormat.DefaultChunkExponent, bool leaveOpen = false)
    {
        Span<byte> salt = stackalloc byte[EncryptionFormat.SaltLength];
        RandomNumberGenerator.Fill(salt);
        EncryptionFormat.WriteHeader(_header, chunkExponent, key, salt);
        _source = plaintext;
        _leaveOpen = leaveOpen;
        _chunkSize = 1 << chunkExponent;
        _length = plaintext.CanSeek ? EncryptionFormat.EncryptedLength(plaintext.Length - plaintext.Position, chunkExponent) : null;
        _cipher = EncryptionFormat.FileCipher(key, _header);
        _plain = ArrayPool<byte>.Shared.Rent(_chunkSize + 1);
        _sealed = ArrayPool<byte>.Shared.Rent(_chunkSize + EncryptionFormat.TagLength);
        _out = _header;
        _outEnd = _header.Length;
    }

    public override bool CanRead => !_disposed;

    /// <summary>The exact encrypted length, known when the source is seekable (it counts from the source's position when wrapped).</summary>
    public override long Length => _length ?? throw new NotSupportedException("the encrypted length is known only for a seekable source");

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (_outAt == _outEnd && !buffer.IsEmpty && !_sealedFinal)
        {
            var wanted = _chunkSize + 1 - _carried;
            Seal(_carried + _source.ReadAtLeast(_plain.AsSpan(_carried, wanted), wanted, throwOnEndOfStream: false));
        }

        return Drain(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (_outAt == _outEnd && !buffer.IsEmpty && !_sealedFinal)
        {
            var wanted = _chunkSize + 1 - _carried;
            Seal(_carried + await _source.ReadAtLeastAsync(_plain.AsMemory(_carried, wanted), wanted, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false));
        }

        return Drain(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _cipher.Dispose();
            ArrayPool<byte>.Shared.Return(_plain, clearArray: true);
            ArrayPool<byte>.Shared.Return(_sealed);
            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Encrypts the chunk now in <see cref="_plain"/>, given that <paramref name="filled"/> bytes of it were read.</summary>
    private void Seal(int filled)
    {
        var final = filled <= _chunkSize;
        var length = final ? filled : _chunkSize;
        EncryptionFormat.Nonce(_nonce, _index, final);
        _cipher.Encrypt(_nonce, _plain.AsSpan(0, length), _sealed.AsSpan(0, length), _sealed.AsSpan(length, EncryptionFormat.TagLength), _header);
        _index++;
        _sealedFinal = final;
        _out = _sealed;
        _outAt = 0;
        _outEnd = length + EncryptionFormat.TagLength;
        if (!final)
        {
            _plain[0] = _plain[_chunkSize];
            _carried = 1;
        }
    }

    private int Drain(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _outEnd - _outAt);
        _out.AsSpan(_outAt, count).CopyTo(buffer);
        _outAt += count;
        _position += count;
        return count;
    }
}

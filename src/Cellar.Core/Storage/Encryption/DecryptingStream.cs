using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Cellar.Core.IO;

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// A read-only stream of the plaintext of an encrypted backup (docs/encryption-format.md). A chunk's plaintext is
/// handed out only after its tag verified and its place in the file (index, final or not) was proven, so a damaged,
/// cut or extended file ends in a <see cref="DecryptionException"/>, never in plausible garbage.
/// </summary>
internal sealed class DecryptingStream(Stream ciphertext, EncryptionKey key, bool leaveOpen = false) : ReadOnlyStream
{
    private readonly byte[] _header = new byte[EncryptionFormat.HeaderLength];
    private readonly byte[] _nonce = new byte[EncryptionFormat.NonceLength];
    private AesGcm? _cipher;
    private int _sealedChunk;

    // One byte beyond a sealed chunk is read ahead: a chunk is the last one exactly when nothing follows it.
    private byte[] _sealed = [];
    private byte[] _plain = [];
    private int _carried;
    private long _index;
    private bool _done;
    private DecryptionException? _failure;

    private int _outAt;
    private int _outEnd;
    private long _position;
    private bool _disposed;

    public override bool CanRead => !_disposed;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        ThrowIfUnusable();
        while (_outAt == _outEnd && !buffer.IsEmpty && !_done)
        {
            if (_cipher is null)
            {
                Open(ciphertext.ReadAtLeast(_header, _header.Length, throwOnEndOfStream: false));
            }
            else
            {
                var wanted = _sealedChunk + 1 - _carried;
                Unseal(_carried + ciphertext.ReadAtLeast(_sealed.AsSpan(_carried, wanted), wanted, throwOnEndOfStream: false));
            }
        }

        return Drain(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        while (_outAt == _outEnd && !buffer.IsEmpty && !_done)
        {
            if (_cipher is null)
            {
                Open(await ciphertext.ReadAtLeastAsync(_header, _header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false));
            }
            else
            {
                var wanted = _sealedChunk + 1 - _carried;
                Unseal(_carried + await ciphertext.ReadAtLeastAsync(_sealed.AsMemory(_carried, wanted), wanted, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false));
            }
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
            if (_cipher is not null)
            {
                _cipher.Dispose();
                ArrayPool<byte>.Shared.Return(_sealed);
                ArrayPool<byte>.Shared.Return(_plain, clearArray: true);
            }

            if (!leaveOpen)
            {
                ciphertext.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // A caller that catches and reads on must not see the failure as a clean end of the file.
        if (_failure is not null)
        {
            ExceptionDispatchInfo.Throw(_failure);
        }
    }

    /// <summary>Checks the header, of which <paramref name="filled"/> bytes were read, and sets up for the chunks.</summary>
    private void Open(int filled)
    {
        int exponent;
        try
        {
            exponent = EncryptionFormat.ReadHeader(_header.AsSpan(0, filled), key);
        }
        catch (DecryptionException e)
        {
            _failure = e;
            throw;
        }

        _cipher = EncryptionFormat.FileCipher(key, _header);
        _sealedChunk = (1 << exponent) + EncryptionFormat.TagLength;
        _sealed = ArrayPool<byte>.Shared.Rent(_sealedChunk + 1);
        _plain = ArrayPool<byte>.Shared.Rent(1 << exponent);
    }

    /// <summary>Authenticates and decrypts the chunk now in <see cref="_sealed"/>, given that <paramref name="filled"/> bytes of it were read.</summary>
    private void Unseal(int filled)
    {
        var final = filled <= _sealedChunk;
        var length = final ? filled : _sealedChunk;
        if (length < EncryptionFormat.TagLength)
        {
            throw Fail(length == 0 ? "truncated: no chunks follow the header" : $"truncated: the file ends inside chunk {_index}");
        }

        var chunk = _sealed.AsSpan(0, length);
        if (!TryDecrypt(chunk, final))
        {
            // Only to name the damage: a chunk that verifies under the other final flag proves a cut or an extension.
            if (!final && TryDecrypt(chunk, final: true))
            {
                throw Fail($"data follows the final chunk {_index}: the file was extended or altered");
            }

            if (final && length == _sealedChunk && TryDecrypt(chunk, final: false))
            {
                throw Fail($"truncated: the file ends after chunk {_index}, which is not its final chunk");
            }

            throw Fail($"chunk {_index} failed authentication: the file is corrupted or was altered");
        }

        _outAt = 0;
        _outEnd = length - EncryptionFormat.TagLength;
        _index++;
        _done = final;
        if (!final)
        {
            _sealed[0] = _sealed[_sealedChunk];
            _carried = 1;
        }
    }

    private bool TryDecrypt(Span<byte> chunk, bool final)
    {
        EncryptionFormat.Nonce(_nonce, _index, final);
        var text = chunk.Length - EncryptionFormat.TagLength;
        try
        {
            _cipher!.Decrypt(_nonce, chunk[..text], chunk[text..], _plain.AsSpan(0, text), _header);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private DecryptionException Fail(string message)
    {
        _failure = new DecryptionException(message);
        return _failure;
    }

    private int Drain(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _outEnd - _outAt);
        _plain.AsSpan(_outAt, count).CopyTo(buffer);
        _outAt += count;
        _position += count;
        return count;
    }
}

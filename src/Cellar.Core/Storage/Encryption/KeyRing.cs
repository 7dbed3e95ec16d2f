namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// The keys Cellar holds: the current one, which encrypts and seals everything written from now on, and the keys it
/// replaced, which only read. Every file and sealed sidecar names the id of the key it was made with, so a key
/// rotation never strands the copies made before it: they stay readable for as long as their key is listed.
/// </summary>
internal sealed class KeyRing
{
    private readonly IReadOnlyList<EncryptionKey> _keys;

    /// <summary>A ring whose <paramref name="current"/> key writes and whose <paramref name="previous"/> keys only read.</summary>
    public KeyRing(EncryptionKey current, IReadOnlyList<EncryptionKey> previous)
    {
        Current = current;
        _keys = [current, .. previous.Where(p => p.IdHex != current.IdHex)];
    }

    /// <summary>The key everything new is encrypted and sealed with.</summary>
    public EncryptionKey Current { get; }

    /// <summary>The key with this id (lowercase hex), or null when it is not one of the configured keys.</summary>
    public EncryptionKey? Find(string keyId) => _keys.FirstOrDefault(k => k.IdHex == keyId);

    /// <summary>
    /// The key with this id, or an error naming the copy (<paramref name="what"/>), its key id and the configured
    /// ones, so a missing old key is told apart from damage.
    /// </summary>
    public EncryptionKey Require(string keyId, string what) =>
        Find(keyId) ?? throw new CellarException($"{what} was encrypted with key {keyId}, which is not configured (configured: {Ids}); add that key to previousEncryptionKeyFiles");

    /// <summary>The configured key ids, current first, for messages.</summary>
    public string Ids => string.Join(", ", _keys.Select((k, i) => i == 0 ? $"{k.IdHex} (current)" : k.IdHex));
}

namespace Cellar.Core.Storage.Encryption;

/// <summary>
/// An encrypted backup that cannot be trusted: not Cellar's format, made with another key, truncated, or altered.
/// No plaintext of the failing chunk was handed out.
/// </summary>
internal sealed class DecryptionException(string message) : CellarException(message);

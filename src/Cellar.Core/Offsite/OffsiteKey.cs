using Cellar.Core.Configuration;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>The encryption key for offsite copies: from <c>encryptionKeyFile</c>, else <c>$CELLAR_ENCRYPTION_KEY</c>, else none.</summary>
internal static class OffsiteKey
{
    public static EncryptionKey? Load(CellarConfig config) =>
        config.EncryptionKeyFile is { } file ? EncryptionKey.FromFile(file)
        : EnvironmentSecrets.Get(OffsiteValidator.KeyVariable) is { Length: > 0 } text ? EncryptionKey.FromText(text, OffsiteValidator.KeyVariable)
        : null;

    /// <summary>The key, or a one-line error naming the destination that needs it.</summary>
    public static EncryptionKey Require(EncryptionKey? key, OffsiteDestination destination) =>
        key ?? throw new ConfigException($"offsite {destination.Name} encrypts, but no key is configured: set encryptionKeyFile, or {OffsiteValidator.KeyVariable}");
}

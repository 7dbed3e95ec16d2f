using Cellar.Core.Configuration;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Core.Offsite;

/// <summary>
/// The keys for offsite copies: the current one from <c>encryptionKeyFile</c>, else <c>$CELLAR_ENCRYPTION_KEY</c>;
/// the keys it replaced (read only) from <c>previousEncryptionKeyFiles</c> and <c>$CELLAR_PREVIOUS_ENCRYPTION_KEYS</c>.
/// </summary>
internal static class OffsiteKey
{
    /// <summary>The configured keys, or null when there is no key at all.</summary>
    public static KeyRing? Load(CellarConfig config)
    {
        var current = config.EncryptionKeyFile is { } file ? EncryptionKey.FromFile(file)
            : EnvironmentSecrets.Get(OffsiteValidator.KeyVariable) is { Length: > 0 } text ? EncryptionKey.FromText(text, OffsiteValidator.KeyVariable)
            : null;
        var previous = config.PreviousEncryptionKeyFiles.Select(EncryptionKey.FromFile).Concat(PreviousFromEnvironment()).ToList();
        if (current is null && previous.Count > 0)
        {
            // Old keys alone would read copies but could seal nothing new, and sealing is what makes copies trustworthy.
            throw new ConfigException($"previous encryption keys are configured, but no current key: set encryptionKeyFile or {OffsiteValidator.KeyVariable}");
        }

        return current is null ? null : new KeyRing(current, previous);
    }

    /// <summary>The key new copies are encrypted with, or a one-line error naming the destination that needs it.</summary>
    public static EncryptionKey Require(KeyRing? keys, OffsiteDestination destination) =>
        keys?.Current ?? throw new ConfigException($"offsite {destination.Name} encrypts, but no key is configured: set encryptionKeyFile, or {OffsiteValidator.KeyVariable}");

    /// <summary>Keys in the environment, separated by commas or white space (neither occurs in hex or base64).</summary>
    private static IEnumerable<EncryptionKey> PreviousFromEnvironment()
    {
        var text = EnvironmentSecrets.Get(OffsiteValidator.PreviousKeysVariable) ?? "";
        var parts = text.Split([',', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Select((part, i) => EncryptionKey.FromText(part, $"{OffsiteValidator.PreviousKeysVariable} (key {i + 1})"));
    }
}

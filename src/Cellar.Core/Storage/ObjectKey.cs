namespace Cellar.Core.Storage;

/// <summary>
/// The rules every key obeys, in every backend: relative, '/'-separated, no empty, '.' or '..' segment, no segment
/// starting with '.' (a folder store keeps its temp files there), no backslash or control character, at most 1,024
/// UTF-8 bytes (S3's limit). A key that breaks them is a bug or an attack, so it is refused, never repaired.
/// </summary>
internal static class ObjectKey
{
    private const int MaxBytes = 1024;

    /// <summary>Returns <paramref name="key"/> when it obeys the rules, else throws <see cref="ArgumentException"/>.</summary>
    public static string Check(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(key) > MaxBytes)
        {
            throw new ArgumentException($"object key of {key.Length} characters: must be 1 to {MaxBytes} bytes", nameof(key));
        }

        if (key.Contains('\\', StringComparison.Ordinal) || key.Any(char.IsControl))
        {
            throw new ArgumentException("object key with a backslash or a control character", nameof(key));
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment[0] == '.')
            {
                throw new ArgumentException($"object key '{key}': empty segments and segments starting with '.' are not allowed", nameof(key));
            }
        }

        return key;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="prefix"/> is empty or a key, or a key and '/': what a listing may ask for.</summary>
    public static void CheckPrefix(string prefix)
    {
        if (prefix.Length > 0)
        {
            Check(prefix.EndsWith('/') ? prefix[..^1] : prefix);
        }
    }
}

using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cellar.Core.IO;

/// <summary>Small JSON files that are either wholly the old or wholly the new version after a crash: temp, fsync, rename.</summary>
internal static class DurableJson
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> (owner-only); <paramref name="replace"/> allows overwriting.</summary>
    public static void Write<T>(string path, T value, JsonTypeInfo<T> type, bool replace)
    {
        using var temp = TempFile.For(Path.GetDirectoryName(path)!, Path.GetFileName(path));
        using (var stream = SecureFiles.CreateNew(temp.Path, 4096))
        {
            JsonSerializer.Serialize(stream, value, type);
            Fsync.File(stream);
        }

        temp.Commit(path, replace);
    }
}

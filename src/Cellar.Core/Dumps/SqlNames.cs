using SQLitePCL;

namespace Cellar.Core.Dumps;

/// <summary>How SQLite names are written into SQL: bare when that is safe, else double-quoted.</summary>
internal static class SqlNames
{
    // SQLite's own keyword list, so a name that becomes a keyword in a later version is still quoted by us.
    private static readonly Lazy<HashSet<string>> Keywords = new(() =>
    {
        Batteries_V2.Init();
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < raw.sqlite3_keyword_count(); i++)
        {
            raw.sqlite3_keyword_name(i, out var name);
            set.Add(name);
        }

        return set;
    });

    /// <summary>True when <paramref name="name"/> can be written without quotes.</summary>
    public static bool IsPlain(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return !Keywords.Value.Contains(name);
    }
}

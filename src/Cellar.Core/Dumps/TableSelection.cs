using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>
/// Turns a job's <c>tables</c> list (names or simple globs: <c>*</c>, <c>?</c>) into the ordinary tables of a
/// database, in the order they were created. Names match case-insensitively, as SQLite's do; SQLite's
/// internal tables, views, virtual tables and their shadow tables are never dumped.
/// </summary>
internal static class TableSelection
{
    /// <summary>The tables <paramref name="patterns"/> name, or <see cref="TableSelectionException"/> naming the first that matches none.</summary>
    public static IReadOnlyList<string> Resolve(SqliteConnection connection, IReadOnlyList<string> patterns, string database)
    {
        var all = new List<(string Name, string Type)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT s.name, coalesce(t.type, s.type) FROM sqlite_schema s
                LEFT JOIN pragma_table_list t ON t.schema = 'main' AND t.name = s.name
                WHERE s.type IN ('table', 'view') ORDER BY s.rowid
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                all.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var chosen = new List<string>();
        for (var i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if (IsGlob(pattern))
            {
                var regex = ToRegex(pattern);
                var matches = all.Where(t => t.Type == "table" && !IsInternal(t.Name) && regex.IsMatch(t.Name)).Select(t => t.Name).ToList();
                if (matches.Count == 0)
                {
                    throw new TableSelectionException(i, $"no table in {database} matches '{pattern}'");
                }

                chosen.AddRange(matches);
                continue;
            }

            var found = all.FirstOrDefault(t => string.Equals(t.Name, pattern, StringComparison.OrdinalIgnoreCase));
            if (found.Name is null)
            {
                throw new TableSelectionException(i, $"table '{pattern}' does not exist in {database}");
            }

            if (found.Type != "table" || IsInternal(found.Name))
            {
                var what = IsInternal(found.Name) ? "an SQLite internal table" : $"a {found.Type} table";
                throw new TableSelectionException(i, $"'{found.Name}' in {database} is {(found.Type == "view" ? "a view" : what)}; only ordinary tables can be dumped");
            }

            chosen.Add(found.Name);
        }

        var set = chosen.ToHashSet(StringComparer.Ordinal);
        return all.Where(t => set.Contains(t.Name)).Select(t => t.Name).ToList();
    }

    private static bool IsGlob(string pattern) => pattern.AsSpan().IndexOfAny('*', '?') >= 0;

    private static bool IsInternal(string name) => name.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase);

    private static Regex ToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
}

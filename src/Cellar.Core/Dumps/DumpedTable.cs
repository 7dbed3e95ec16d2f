using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;

namespace Cellar.Core.Dumps;

/// <summary>What a dump writes for one table, read from the database's schema.</summary>
/// <param name="Name">The table's name.</param>
/// <param name="CreateSql">Its <c>CREATE TABLE</c> exactly as stored in <c>sqlite_schema</c>.</param>
/// <param name="Columns">The columns an INSERT can set (generated columns are computed, not stored).</param>
/// <param name="HasGeneratedColumns">True when some columns are generated, so INSERTs must name their columns.</param>
/// <param name="Dependents">Its indexes and triggers, as stored, in creation order.</param>
/// <param name="Sequence">Its AUTOINCREMENT counter, when it has one.</param>
internal sealed record DumpedTable(string Name, string CreateSql, IReadOnlyList<string> Columns, bool HasGeneratedColumns, IReadOnlyList<string> Dependents, long? Sequence)
{
    /// <summary>Reads the schema facts of <paramref name="name"/> from schema <paramref name="schema"/>.</summary>
    public static DumpedTable Read(SqliteConnection connection, string name, string schema = "main")
    {
        var quotedSchema = SqliteFiles.Quote(schema);
        var create = Strings(connection, $"SELECT sql FROM {quotedSchema}.sqlite_schema WHERE type = 'table' AND name = $name", name).Single();
        var columns = new List<string>();
        var generated = false;
        using (var command = connection.CreateCommand())
        {
            // hidden: 0 ordinary, 1 hidden column of a virtual table, 2 and 3 generated (virtual, stored).
            command.CommandText = $"SELECT name, hidden FROM pragma_table_xinfo($name, {SqlString(schema)}) ORDER BY cid";
            command.Parameters.AddWithValue("$name", name);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetInt64(1) is 2 or 3)
                {
                    generated = true;
                }
                else
                {
                    columns.Add(reader.GetString(0));
                }
            }
        }

        var dependents = Strings(connection, $"SELECT sql FROM {quotedSchema}.sqlite_schema WHERE type IN ('index', 'trigger') AND tbl_name = $name AND sql IS NOT NULL ORDER BY rowid", name);
        long? sequence = null;
        if (Strings(connection, $"SELECT name FROM {quotedSchema}.sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'", name).Count > 0)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT seq FROM {quotedSchema}.sqlite_sequence WHERE name = $name";
            command.Parameters.AddWithValue("$name", name);
            sequence = command.ExecuteScalar() is long seq ? seq : null;
        }

        return new DumpedTable(name, create, columns, generated, dependents, sequence);
    }

    /// <summary>The column list for INSERT and SELECT, quoted as needed.</summary>
    public string ColumnList => string.Join(',', Columns.Select(c => SqlNames.IsPlain(c) ? c : SqliteFiles.Quote(c)));

    private static List<string> Strings(SqliteConnection connection, string sql, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        var list = new List<string>();
        while (reader.Read())
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    private static string SqlString(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}

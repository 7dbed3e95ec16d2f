using System.Text;
using Cellar.Core.Dumps;
using Cellar.Core.Sqlite;
using Cellar.Tests.Support;
using CsCheck;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Dumps;

/// <summary>
/// Random tables with random values, dumped by Cellar, loaded back by the stock sqlite3 shell and by Cellar:
/// every value must come back with the same type and the same bytes, and a dump of the loaded copy must be
/// byte-identical to the first.
/// </summary>
public sealed class DumpRoundTripTests
{
    private static readonly string[] TableNames = ["t", "my table", "group", "x\"y", "Tab'le", "Ünïcode", "order"];
    private static readonly string[] ColumnNames = ["a", "b c", "select", "\"q\"", "x_1", "Ünï", "col'n", "values", "z"];
    private static readonly string[] DeclaredTypes = ["", "INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC", "ANY", "VARCHAR(10)", "DOUBLE", "INT"];

    private static readonly double[] SpecialReals =
    [
        -0.0, 0.0, double.Epsilon, -double.Epsilon, 1e308, double.MaxValue, double.MinValue, double.PositiveInfinity,
        double.NegativeInfinity, 0.1, 1e22, 1e23, 2.2250738585072014e-308, 2.225073858507201e-308, 9007199254740993.0, 1.0 / 3,
    ];

    private static readonly Gen<object?> Value = Gen.Frequency(
        (1, Gen.Const(0).Select(_ => (object?)null)),
        (2, Gen.Long.Select(v => (object?)v)),
        (1, Gen.OneOf(long.MinValue, long.MaxValue, 0L, -1L, 1L << 53).Select(v => (object?)v)),
        (3, Gen.Long.Select(bits => BitConverter.Int64BitsToDouble(bits)).Where(d => !double.IsNaN(d)).Select(v => (object?)v)),
        (1, Gen.Long[0, (1L << 52) - 1].Select(bits => (object?)BitConverter.Int64BitsToDouble(bits))),
        (2, Gen.OneOf(SpecialReals).Select(v => (object?)v)),
        (1, Gen.Double[-1e6, 1e6].Select(v => (object?)Math.Round(v, 3))),
        (4, Gen.String[Gen.OneOf(Gen.Char, Gen.Char['\0', '\u001f'], Gen.OneOf('\'', '"', '\n', '\r', '\\', 'n', ';')), 0, 12]
            .Select(s => (object?)s)),
        (1, Gen.OneOf("😀 non-BMP 𝄞", "a\\nb\nc", "line1\r\nline2", "it's", "\\012\n", "").Select(s => (object?)s)),
        (2, Gen.Byte.Array[0, 16].Select(b => (object?)b)));

    private static readonly Gen<TableSpec> Table =
        from name in Gen.OneOf(TableNames)
        from count in Gen.Int[1, 5]
        from columns in Gen.Shuffle(ColumnNames, count)
        from types in Gen.OneOf(DeclaredTypes).Array[count]
        from withoutRowid in Gen.Bool
        from generated in Gen.Int[0, 2]
        from rows in Value.Array[count].Array[0, 12]
        select new TableSpec(name, columns, types, withoutRowid, generated, rows);

    [Fact]
    public async Task Random_tables_round_trip_bit_exactly_through_stock_sqlite3_and_cellar()
    {
        using var folder = new TempFolder();
        var iteration = 0;
        await Table.SampleAsync(async spec =>
        {
            var dir = folder.Combine($"case{Interlocked.Increment(ref iteration)}");
            Directory.CreateDirectory(dir);
            var source = Path.Combine(dir, "source.db");
            spec.Create(source);

            var dump = DumpOf(source, spec.Name);
            var expected = Contents(source, spec.Name);

            var stock = Path.Combine(dir, "stock.db");
            await StockSqlite.RunAsync(stock, dump, TestContext.Current.CancellationToken);
            AssertSame(expected, Contents(stock, spec.Name), "stock sqlite3", dump);

            var ours = Path.Combine(dir, "ours.db");
            using (var connection = new SqliteConnection($"Data Source={ours};Pooling=false"))
            {
                connection.Open();
                SqlScript.Run(new MemoryStream(dump), connection, null, TestContext.Current.CancellationToken);
            }

            AssertSame(expected, Contents(ours, spec.Name), "Cellar", dump);
            Assert.Equal(Encoding.UTF8.GetString(dump), Encoding.UTF8.GetString(DumpOf(stock, spec.Name)));
        }, iter: 300, threads: 1);
    }

    internal static byte[] DumpOf(string database, string table)
    {
        using var connection = SqliteFiles.OpenLive(database);
        connection.Execute("BEGIN");
        var output = new MemoryStream();
        TableDump.Write(connection, [table], output, null, CancellationToken.None);
        connection.Execute("COMMIT");
        return output.ToArray();
    }

    /// <summary>Every value of the table in dump order, as (type, exact bytes).</summary>
    internal static List<string> Contents(string database, string table)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {SqliteFiles.Quote(table)} NOT INDEXED";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var row = new StringBuilder();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row.Append(reader.IsDBNull(i) ? "null" : reader.GetValue(i) switch
                {
                    long l => $"int:{l}",
                    double d => $"real:{BitConverter.DoubleToInt64Bits(d):x16}",
                    string s => $"text:{Convert.ToHexString(Encoding.UTF8.GetBytes(s))}",
                    byte[] b => $"blob:{Convert.ToHexString(b)}",
                    var other => $"?{other}",
                }).Append('|');
            }

            rows.Add(row.ToString());
        }

        return rows;
    }

    private static void AssertSame(List<string> expected, List<string> actual, string loader, byte[] dump)
    {
        if (!expected.SequenceEqual(actual))
        {
            Assert.Fail($"{loader} loaded different values.\nexpected: {string.Join("\n", expected)}\nactual:   {string.Join("\n", actual)}\ndump:\n{Encoding.UTF8.GetString(dump)}");
        }
    }

    internal sealed record TableSpec(string Name, string[] Columns, string[] Types, bool WithoutRowid, int Generated, object?[][] Rows)
    {
        public void Create(string path)
        {
            using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
            connection.Open();
            var columns = Columns.Select((c, i) => $"{SqliteFiles.Quote(c)} {Types[i]}".TrimEnd()).ToList();
            if (Generated > 0)
            {
                columns.Add($"\"gen\" AS (typeof({SqliteFiles.Quote(Columns[0])})) {(Generated == 1 ? "VIRTUAL" : "STORED")}");
            }

            var key = WithoutRowid ? $", PRIMARY KEY({SqliteFiles.Quote(Columns[0])})" : string.Empty;
            connection.Execute($"CREATE TABLE {SqliteFiles.Quote(Name)} ({string.Join(", ", columns)}{key}){(WithoutRowid ? " WITHOUT ROWID" : string.Empty)}");
            connection.Execute($"CREATE INDEX {SqliteFiles.Quote("ix " + Name)} ON {SqliteFiles.Quote(Name)} ({SqliteFiles.Quote(Columns[^1])})");
            foreach (var row in Rows)
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = $"INSERT OR IGNORE INTO {SqliteFiles.Quote(Name)} ({string.Join(", ", Columns.Select(SqliteFiles.Quote))}) VALUES ({string.Join(", ", row.Select((_, i) => $"$p{i}"))})";
                for (var i = 0; i < row.Length; i++)
                {
                    insert.Parameters.AddWithValue($"$p{i}", row[i] ?? DBNull.Value);
                }

                insert.ExecuteNonQuery();
            }
        }
    }
}

using System.Globalization;
using System.Text;
using Cellar.Core.Dumps;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Dumps;

/// <summary>
/// The literal a dump writes for a REAL, read by the stock sqlite3 shell (3.40 on Debian 12, whose parser misreads about
/// one shortest round-trip literal in 6,000): a fixed sample of doubles of every kind must load back bit for bit.
/// </summary>
public sealed class RealLiteralTests
{
    // Fixed, so a failure names the same values on every run and machine.
    private const int Seed = 20261129;

    [Fact]
    public async Task A_hundred_thousand_reals_of_every_kind_load_back_bit_exactly_in_stock_sqlite3()
    {
        var values = Sample(new Random(Seed));
        Assert.True(values.Count >= 100_000, $"only {values.Count} values");

        // One script, one sqlite3 process: a column without a type keeps each value as the literal made it.
        var script = new StringBuilder("CREATE TABLE r(i INTEGER PRIMARY KEY, x);\nBEGIN;\n");
        for (var i = 0; i < values.Count; i++)
        {
            script.Append(CultureInfo.InvariantCulture, $"INSERT INTO r VALUES({i},{RealLiteral.Format(values[i])});\n");
        }

        script.Append("COMMIT;\n");
        using var folder = new TempFolder();
        var database = folder.Combine("reals.db");
        await StockSqlite.RunAsync(database, Encoding.UTF8.GetBytes(script.ToString()), TestContext.Current.CancellationToken);

        var misread = new List<string>();
        var read = 0;
        using (var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT i, typeof(x), x FROM r ORDER BY i";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var i = reader.GetInt32(0);
                var expected = values[i];
                read++;
                if (reader.GetString(1) != "real" || BitConverter.DoubleToInt64Bits(reader.GetDouble(2)) != BitConverter.DoubleToInt64Bits(expected))
                {
                    misread.Add($"{expected:R} (0x{BitConverter.DoubleToInt64Bits(expected):x16}) written as {RealLiteral.Format(expected)}, read back as {reader.GetString(1)} {Convert.ToString(reader.GetValue(2), CultureInfo.InvariantCulture)}");
                }
            }
        }

        Assert.Equal(values.Count, read);
        Assert.True(misread.Count == 0, $"{misread.Count} of {values.Count} reals read back differently, e.g.:\n{string.Join('\n', misread.Take(10))}");
    }

    /// <summary>
    /// Extremes, every power of ten with its neighbours, subnormals, the region where the writer switches to its exact
    /// form, random bit patterns (every exponent alike) and everyday values (prices, measurements, fractions).
    /// </summary>
    private static List<double> Sample(Random random)
    {
        var values = new List<double>
        {
            0.0, -0.0, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue, double.PositiveInfinity, double.NegativeInfinity,
            2.2250738585072014e-308, -2.2250738585072014e-308, // the smallest normal
            BitConverter.Int64BitsToDouble(0x000F_FFFF_FFFF_FFFF), // the largest subnormal
            Math.ScaleB(1, -950), Math.ScaleB(1, 1023), 0.1, 1.0 / 3, 9007199254740993.0, 1e22, 1e23,
        };

        for (var exponent = -324; exponent <= 308; exponent++)
        {
            var power = double.Parse($"1e{exponent}", CultureInfo.InvariantCulture);
            foreach (var near in new[] { power, Math.BitIncrement(power), Math.BitDecrement(power) })
            {
                values.Add(near);
                values.Add(-near);
            }
        }

        for (var i = 0; i < 40_000; i++)
        {
            double bits;
            do
            {
                bits = BitConverter.Int64BitsToDouble(random.NextInt64() ^ ((long)random.Next(2) << 63));
            }
            while (!double.IsFinite(bits));

            values.Add(bits);
        }

        for (var i = 0; i < 10_000; i++)
        {
            var subnormal = BitConverter.Int64BitsToDouble(random.NextInt64(1, 1L << 52));
            values.Add(random.Next(2) == 0 ? subnormal : -subnormal);
        }

        for (var i = 0; i < 5_000; i++)
        {
            values.Add(Math.ScaleB(1 + random.NextDouble(), random.Next(-960, -940)));
        }

        for (var i = 0; i < 45_000; i++)
        {
            var everyday = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-10, 21));
            values.Add(i % 3 == 0 ? Math.Round(everyday, random.Next(0, 4)) : everyday);
        }

        return values;
    }
}

using System.Text;
using Cellar.Core.Dumps;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Dumps;

public sealed class SqlScriptTests
{
    [Fact]
    public void Statements_spanning_lines_and_literals_holding_semicolons_run_as_the_sqlite3_shell_runs_them()
    {
        using var db = Memory();

        Run(db, "CREATE TABLE t(\n  a TEXT,\n  b\n);\n\nINSERT INTO t VALUES('x;\ny', 1); INSERT INTO t VALUES('z', 2);\n-- a comment\nINSERT INTO t VALUES(';', 3);");

        using var command = db.CreateCommand();
        command.CommandText = "SELECT group_concat(a, '|') FROM t";
        Assert.Equal("x;\ny|z|;", command.ExecuteScalar());
    }

    [Fact]
    public void A_failing_statement_is_reported_with_its_line_and_a_truncated_dump_as_such()
    {
        using var db = Memory();

        var bad = Assert.Throws<InvalidDataException>(() => Run(db, "CREATE TABLE t(a);\nINSERT INTO t VALUES(1);\n\nINSERT INTO nowhere VALUES(2);\n"));
        var truncated = Assert.Throws<InvalidDataException>(() => Run(db, "INSERT INTO t VALUES(3);\nINSERT INTO t VALUES('unfinished"));

        Assert.Contains("line 4", bad.Message, StringComparison.Ordinal);
        Assert.Contains("nowhere", bad.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dump_cannot_attach_other_files()
    {
        using var db = Memory();

        var error = Assert.Throws<InvalidDataException>(() => Run(db, "ATTACH DATABASE '/tmp/cellar-should-not-exist.db' AS x;"));

        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/cellar-should-not-exist.db"));
    }

    private static SqliteConnection Memory()
    {
        var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        return db;
    }

    private static void Run(SqliteConnection db, string sql) =>
        SqlScript.Run(new MemoryStream(Encoding.UTF8.GetBytes(sql)), db, null, TestContext.Current.CancellationToken);
}

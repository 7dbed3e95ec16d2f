using Cellar.Core.Dumps;
using Cellar.Core.Sqlite;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Cellar.Tests.Dumps;

public sealed class TableSelectionTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly SqliteConnection _db;

    public TableSelectionTests()
    {
        _db = new SqliteConnection($"Data Source={_temp.Combine("app.db")};Pooling=false");
        _db.Open();
        _db.Execute("""
            CREATE TABLE users(id INTEGER PRIMARY KEY);
            CREATE TABLE social_likes(id INTEGER PRIMARY KEY AUTOINCREMENT);
            CREATE TABLE Social_Comments(id INTEGER PRIMARY KEY);
            CREATE TABLE audit(id INTEGER PRIMARY KEY);
            CREATE VIEW social_view AS SELECT * FROM users;
            """);
    }

    public void Dispose()
    {
        _db.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Globs_match_case_insensitively_and_tables_come_in_creation_order_without_views_or_internal_tables()
    {
        var tables = TableSelection.Resolve(_db, ["social_*", "USERS", "s*"], "app.db");

        Assert.Equal(["users", "social_likes", "Social_Comments"], tables);
    }

    [Theory]
    [InlineData("followers", "does not exist")]
    [InlineData("nothing_*", "no table")]
    [InlineData("social_view", "view")]
    [InlineData("sqlite_sequence", "internal")]
    public void A_name_that_is_no_dumpable_table_is_reported_with_its_index(string name, string says)
    {
        var error = Assert.Throws<TableSelectionException>(() => TableSelection.Resolve(_db, ["users", name], "app.db"));

        Assert.Equal(1, error.Index);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }
}

using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.IO;

/// <summary>A temp name is made and recognised in one place, so a sweep finds exactly what a killed process left.</summary>
public sealed class TempFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Leftovers_are_found_by_final_name_and_purpose_with_their_companions_and_nothing_else()
    {
        string Left(string finalName, string? purpose = null)
        {
            var temp = TempFile.For(_temp.Path, finalName, purpose);
            File.WriteAllText(temp.Path, "x");
            return temp.Path; // never disposed: a killed process leaves it
        }

        var restore = Left("app.db");
        File.WriteAllText(restore + "-wal", "x");
        var verify = Left("app.db", "verify");
        var copy = Left("backend.log", "copy");
        var other = Left("app.db.pre-restore-20261129");
        File.WriteAllText(_temp.Combine("app.db"), "live");
        File.WriteAllText(_temp.Combine(".app.db.cellar-tmp-notahex"), "someone else's");

        Assert.Equal([restore, restore + "-wal"], TempFile.LeftFor(_temp.Path, "app.db").Order(StringComparer.Ordinal));
        Assert.Equal([verify], TempFile.LeftFor(_temp.Path, "app.db", "verify"));
        Assert.Equal([copy], TempFile.LeftFor(_temp.Path, "backend.log", "copy"));
        Assert.Empty(TempFile.LeftFor(_temp.Path, "backend.log"));
        Assert.All(new[] { restore, verify, copy, other }, p => Assert.True(TempFile.IsTempName(Path.GetFileName(p))));
    }
}

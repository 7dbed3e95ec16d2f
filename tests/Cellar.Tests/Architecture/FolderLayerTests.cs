using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Architecture;

/// <summary>
/// Cellar.Core's folders are its layers (docs/architecture.md): each uses only folders below it, so no folder ever
/// comes back to itself through others. A cycle would make the layers a tangle again, where changing a low piece
/// means reading the high ones.
/// </summary>
public sealed class FolderLayerTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void No_folder_of_the_core_uses_itself_through_other_folders()
    {
        var cycle = FolderGraph.FindCycle(FolderGraph.Read(Path.Combine(Repository.Root, "src", "Cellar.Core")));

        Assert.True(cycle is null, "Cellar.Core's folders form a cycle: " + string.Join("; ", cycle ?? []));
    }

    [Fact]
    public void The_core_read_shows_the_layers_the_architecture_names()
    {
        var graph = FolderGraph.Read(Path.Combine(Repository.Root, "src", "Cellar.Core"));

        // A read that found nothing would pass the test above: these uses are known to be there, and one way only.
        Assert.Contains("Artifacts/Kinds", graph["Jobs"].Keys);
        Assert.Contains("Snapshots", graph["Artifacts/Kinds"].Keys);
        Assert.Contains("Artifacts", graph["Snapshots"].Keys);
        Assert.Contains("Configuration", graph["Catalog"].Keys);
        Assert.DoesNotContain("Jobs", graph["Snapshots"].Keys);
    }

    [Fact]
    public void A_cycle_through_three_folders_is_found_and_named()
    {
        Write("Low/Piece.cs", "namespace X.Low; internal sealed class Piece { public Top? Back; }");
        Write("Mid/Part.cs", "namespace X.Mid; internal sealed class Part { public Piece P = new(); }");
        Write("Top/Top.cs", "namespace X.Top; internal sealed class Top { public Part P = new(); // Piece, in a comment, is no use\n string s = \"Part\"; }");

        var cycle = FolderGraph.FindCycle(FolderGraph.Read(_temp.Path));

        Assert.NotNull(cycle);
        Assert.Equal(["Low -> Top (Top in Low/Piece.cs)", "Top -> Mid (Part in Top/Top.cs)", "Mid -> Low (Piece in Mid/Part.cs)"], cycle);
    }

    [Fact]
    public void Names_in_comments_strings_and_after_a_dot_are_not_uses()
    {
        Write("Low/Piece.cs", "namespace X.Low; internal sealed class Piece { /* Top */ string a = \"Top\"; string b = @\"Top\"; int c = this.Top; }");
        Write("Top/Top.cs", "namespace X.Top; internal sealed class Top { Piece p = new(); }");

        var graph = FolderGraph.Read(_temp.Path);

        Assert.Null(FolderGraph.FindCycle(graph));
        Assert.Empty(graph["Low"]);
    }

    private void Write(string relative, string code)
    {
        var path = Path.Combine(_temp.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, code);
    }
}

namespace Cellar.Tests.Support;

/// <summary>The checkout the tests run from.</summary>
internal static class Repository
{
    /// <summary>The repository's root: the first folder above the test binaries that holds <c>Directory.Packages.props</c>.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Directory.Packages.props) was not found above the test binaries");
    }
}

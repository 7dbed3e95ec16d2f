using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Demo;

/// <summary>
/// <c>cellar demo DIR</c> never overwrites someone's files.
/// </summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("cellar.json")]
    [InlineData("notes.txt")]
    public async Task Demo_refuses_a_folder_that_holds_anything_it_did_not_make_and_touches_nothing(string existing)
    {
        var dir = _temp.Combine("mine");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, existing), "{ \"my\": \"config\" }", TestContext.Current.CancellationToken);
        var before = CliSandbox.Fingerprint(dir);

        var run = await CliSandbox.RunAsync(["demo", dir]);

        CliSandbox.AssertOneLineError(run, 2, dir, "not a new or empty folder");
        Assert.Equal(before, CliSandbox.Fingerprint(dir));
        Assert.Equal([Path.Combine(dir, existing)], Directory.EnumerateFileSystemEntries(dir));
    }
}

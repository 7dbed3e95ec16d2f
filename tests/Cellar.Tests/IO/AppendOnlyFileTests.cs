using Xunit;
using Cellar.Core.IO;
using Cellar.Tests.Support;

namespace Cellar.Tests.IO;

public sealed class AppendOnlyFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Two_writers_of_one_log_never_overwrite_each_others_lines()
    {
        // Two handles stand for the daemon and a CLI run: with FileMode.Append each would write at its own
        // offset and the second would overwrite the first's lines.
        var path = _temp.Combine("backup.log");
        using var daemon = AppendOnlyFile.Open(path);
        using var cli = AppendOnlyFile.Open(path);
        var writers = new[] { (daemon, "daemon"), (cli, "cli") }.Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                w.Item1.Append(System.Text.Encoding.UTF8.GetBytes($"{w.Item2} {i}\n"));
            }
        }, TestContext.Current.CancellationToken));
        await Task.WhenAll(writers);

        var lines = await File.ReadAllLinesAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(4000, lines.Length);
        Assert.Equal(2000, lines.Count(l => l.StartsWith("daemon ", StringComparison.Ordinal)));
        Assert.Equal(2000, lines.Count(l => l.StartsWith("cli ", StringComparison.Ordinal)));
        Assert.Equal(SecureFiles.FileMode, File.GetUnixFileMode(path));
    }
}

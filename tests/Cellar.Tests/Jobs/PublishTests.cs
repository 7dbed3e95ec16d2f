using System.Text.RegularExpressions;
using Cellar.Core;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Jobs;

/// <summary>A backup takes its final name only if that name is still free: it never replaces a file someone else wrote.</summary>
public sealed partial class PublishTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        FaultInjection.Compressed = null;
        _temp.Dispose();
    }

    [Fact]
    public async Task A_name_taken_while_the_backup_was_made_is_never_overwritten_and_gets_no_sidecar_of_ours()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = _temp.Combine("portfolio.sqlite");
        await SampleDatabases.CopyToAsync(3L << 20, database);
        var configPath = _temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Path}}",
              "jobs": { "daily": { "type": "snapshot" } } }
            """, ct);
        var config = ConfigLoader.Load(configPath);
        var job = config.FindJob("daily");
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);

        // The seed's cron, still installed during a migration, writes the same name while Cellar compresses (the
        // compressor's fault seam is just the moment to do it: the backup's name is chosen, its file not yet renamed).
        var seed = new Lazy<string>(() => TakeFinalName(job.Folder));
        FaultInjection.Compressed = (block, length) =>
        {
            _ = seed.Value;
            return length;
        };

        var error = await Assert.ThrowsAsync<CellarException>(() => runner.RunAsync("daily", null, null, ct));

        Assert.True(seed.IsValueCreated, "nothing was compressed");
        var taken = seed.Value;
        Assert.Contains(taken, error.Message, StringComparison.Ordinal);
        Assert.Equal("the seed's backup", await File.ReadAllTextAsync(taken, ct));
        Assert.False(File.Exists(Sidecar.PathFor(taken)), "Cellar's sidecar was left beside a file it did not write");
        CliSandbox.AssertNoTempFiles(job.Folder);
    }

    /// <summary>Writes a file under the final name of the backup being stored in <paramref name="folder"/>; returns its path.</summary>
    private static string TakeFinalName(string folder)
    {
        var stored = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Select(n => StoredTempName().Match(n!)).Single(m => m.Success);
        var path = Path.Combine(folder, stored.Groups["final"].Value);
        File.WriteAllText(path, "the seed's backup");
        return path;
    }

    [GeneratedRegex(@"^\.(?<final>.+)\.cellar-tmp-[0-9a-f]{8}$")]
    private static partial Regex StoredTempName();
}

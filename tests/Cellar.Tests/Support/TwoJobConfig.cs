using Cellar.Core.Configuration;
using Cellar.Tests.Cli;

namespace Cellar.Tests.Support;

/// <summary>
/// A sample database in a temp folder with two jobs: <c>daily</c>, a snapshot, and <c>social</c>, a dump of two of its
/// tables, both compressed as asked; for tests that run jobs in process.
/// </summary>
internal static class TwoJobConfig
{
    public static async Task<CellarConfig> WriteAsync(TempFolder temp, string compression, long databaseBytes, CancellationToken ct)
    {
        var database = temp.Combine("portfolio.sqlite");
        await SampleDatabases.CopyToAsync(databaseBytes, database);
        var configPath = temp.Combine("cellar.json");
        await File.WriteAllTextAsync(configPath, $$"""
            { "database": "{{database}}", "backupRoot": "{{temp.Combine("backups")}}", "logDir": "{{temp.Path}}",
              "jobs": { "daily": { "type": "snapshot", "compression": "{{compression}}" },
                        "social": { "type": "tables", "tables": ["comments", "likes"], "compression": "{{compression}}" } } }
            """, ct);
        return ConfigLoader.Load(configPath);
    }
}

namespace Cellar.Core.Configuration;

/// <summary>
/// With no config file at all, Cellar does exactly what the seed's scripts and crontab did, so dropping it
/// into the seed's container changes nothing for its users but the safety.
/// </summary>
internal static class SeedDefaults
{
    public const string Database = "/app/data/portfolio.sqlite";
    public const string BackupRoot = "/app/backups";
    public const string LogDir = "/app/logs";

    public static IEnumerable<KeyValuePair<string, string?>> Values()
    {
        return new Dictionary<string, string?>
        {
            ["database"] = Database,
            ["backupRoot"] = BackupRoot,
            ["logDir"] = LogDir,
            ["jobs:daily:type"] = "snapshot",
            ["jobs:daily:schedule"] = "0 2 * * *",
            ["jobs:daily:folder"] = "daily",
            ["jobs:daily:fileName"] = "portfolio-{yyyy}-{MM}-{dd}.sqlite",
            ["jobs:daily:keepDays"] = "30",
            ["jobs:social:type"] = "tables",
            ["jobs:social:schedule"] = "0 3 * * 0",
            ["jobs:social:folder"] = "social",
            ["jobs:social:fileName"] = "social-tables-{yyyy}-{MM}-{dd}.sql",
            ["jobs:social:keepDays"] = "84",
            ["jobs:social:tables:0"] = "comments",
            ["jobs:social:tables:1"] = "likes",
            ["jobs:social:tables:2"] = "reactions",
            ["jobs:social:tables:3"] = "follows",
            ["jobs:gallery:type"] = "snapshot",
            ["jobs:gallery:folder"] = "event-triggered",
            ["jobs:gallery:fileName"] = "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
            ["jobs:gallery:keepDays"] = "90",
            ["jobs:logs:type"] = "rotate",
            ["jobs:logs:schedule"] = "0 1 * * *",
            ["jobs:logs:folder"] = "logs-archive",
            ["jobs:logs:fileName"] = "backend-{yyyy}-{MM}-{dd}.log",
            ["jobs:logs:path"] = "/app/logs/backend.log",
            ["jobs:logs:keepDays"] = "7",
        };
    }
}

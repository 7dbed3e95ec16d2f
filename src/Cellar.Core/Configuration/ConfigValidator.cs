using System.Text.RegularExpressions;
using Cellar.Core.Compression;
using Cronos;

namespace Cellar.Core.Configuration;

/// <summary>
/// Turns bound settings into a <see cref="CellarConfig"/>, or stops at the first problem with one line that
/// names the key, before any job has touched a file.
/// </summary>
internal static partial class ConfigValidator
{
    private const int MaxNameLength = 64;

    /// <summary>The name of a database whose file name has no letter or digit a name may hold ("Ωμέγα.db").</summary>
    private const string FallbackDatabaseName = "database";

    private static readonly DateTime CronReference = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// The config <paramref name="settings"/> describe, read from <paramref name="source"/> (null for the seed's
    /// defaults); <paramref name="error"/> makes the one-line error for a key, naming where its value came from.
    /// </summary>
    public static CellarConfig Validate(CellarSettings settings, string? source, Func<string, string, ConfigException> error)
    {
        if (settings.Databases is { Count: > 0 } && (settings.Database is not null || settings.Jobs is not null))
        {
            throw error("databases", "use either 'database' with 'jobs', or a 'databases' list, not both");
        }

        var logDir = AbsolutePath(settings.LogDir ?? SeedDefaults.LogDir, "logDir", error);
        var zone = ParseZone(settings.TimeZone, error);
        var entries = settings.Databases is { Count: > 0 } list
            ? list.Select((d, i) => (Key: $"databases:{i}", d.Name, d.Path, BackupRoot: d.BackupRoot ?? settings.BackupRoot, d.Jobs, Offsite: d.Offsite ?? settings.Offsite))
            : [(Key: "", Name: (string?)null, Path: settings.Database, settings.BackupRoot, settings.Jobs, settings.Offsite)];
        // "{}" would run nothing and say nothing; a config is written to run jobs.
        if (entries.All(e => e.Jobs is not { Count: > 0 }))
        {
            throw error("jobs", "no jobs are defined, so nothing would ever be backed up; add a 'jobs' object (see README, Configuration), or remove the config file to use the seed's setup");
        }

        // From the file only, never the environment: whether a copy is encrypted must not depend on the shell a
        // command happens to run in. With the key in CELLAR_ENCRYPTION_KEY, destinations say "encrypt": true.
        var keyConfigured = settings.EncryptionKeyFile is not null;

        var databases = new List<DatabaseConfig>();
        foreach (var (key, name, path, backupRoot, jobs, offsite) in entries)
        {
            string K(string leaf) => key.Length == 0 ? leaf : $"{key}:{leaf}";
            var dbPath = AbsolutePath(path ?? (key.Length == 0 ? SeedDefaults.Database : null), K(key.Length == 0 ? "database" : "path"), error);
            var dbName = name ?? DerivedName(dbPath);
            if (!NamePattern().IsMatch(dbName))
            {
                throw error(K("name"), $"'{dbName}' must be lowercase letters, digits, '-' or '_'");
            }

            if (databases.Any(d => d.Name == dbName))
            {
                throw error(K("name"), name is null
                    ? $"'{dbName}' (from the file name {Path.GetFileName(dbPath)}) is already another database's name; set 'name' in this entry"
                    : $"another database is already named '{dbName}'");
            }

            var database = new DatabaseConfig(dbName, dbPath, AbsolutePath(backupRoot ?? SeedDefaults.BackupRoot, K("backupRoot"), error));
            database.Jobs = (jobs ?? []).Select(j => ValidateJob(j.Key, j.Value, database, K($"jobs:{j.Key}"), error)).ToList();
            database.Offsite = OffsiteValidator.Validate(offsite, K("offsite"), database.Jobs, keyConfigured, error);
            databases.Add(database);
        }

        var byFolder = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var db in databases)
        {
            foreach (var job in db.Jobs)
            {
                var key = databases.Count > 1 || settings.Databases is { Count: > 0 } ? $"databases:{databases.IndexOf(db)}:jobs:{job.Name}" : $"jobs:{job.Name}";
                if (!byFolder.TryAdd(job.Folder, key))
                {
                    throw error($"{key}:folder", $"{job.Folder} is already the folder of {byFolder[job.Folder]}; each job needs its own folder");
                }
            }
        }

        // Two rotate jobs cutting the same log would each skip what the other archived.
        var byLog = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var job in databases.SelectMany(d => d.Jobs).OfType<RotateJob>())
        {
            foreach (var path in job.Paths)
            {
                if (!byLog.TryAdd(path, job.Name))
                {
                    throw error($"jobs:{job.Name}:paths", $"{path} is already rotated by job '{byLog[path]}'; each log needs one rotate job");
                }
            }
        }

        if (settings.Nice is < 0 or > 19)
        {
            throw error("nice", "must be 0 (run at normal priority) to 19");
        }

        Uri? listen = null;
        if (settings.Listen is not null && (!Uri.TryCreate(settings.Listen, UriKind.Absolute, out listen) || listen.Scheme != "http" || listen.AbsolutePath != "/"))
        {
            throw error("listen", $"'{settings.Listen}' is not an http://HOST:PORT address");
        }

        if (settings.ShutdownGraceSeconds is < 0 or > 3600)
        {
            throw error("shutdownGraceSeconds", "must be 0..3600");
        }

        if (settings.VerifyBudgetMinutes is < 1 or > 10080)
        {
            throw error("verifyBudgetMinutes", "must be 1..10080 (a week)");
        }

        var config = new CellarConfig(databases, logDir, zone, source);
        return config with
        {
            VerifySchedule = settings.VerifySchedule is null ? config.VerifySchedule
                : settings.VerifySchedule.Trim() == "off" ? null
                : ParseSchedule(settings.VerifySchedule, "verifySchedule", error),
            VerifyBudget = settings.VerifyBudgetMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : config.VerifyBudget,
            Nice = settings.Nice ?? config.Nice,
            Listen = listen ?? config.Listen,
            ApiTokenFile = settings.ApiTokenFile is null ? null : AbsolutePath(settings.ApiTokenFile, "apiTokenFile", error),
            MetricsTokenFile = settings.MetricsTokenFile is null ? null : AbsolutePath(settings.MetricsTokenFile, "metricsTokenFile", error),
            AllowedHosts = (settings.AllowedHosts ?? []).Select((host, i) => HostName(host, $"allowedHosts:{i}", error)).ToList(),
            EncryptionKeyFile = settings.EncryptionKeyFile is null ? null : AbsolutePath(settings.EncryptionKeyFile, "encryptionKeyFile", error),
            PreviousEncryptionKeyFiles = [.. (settings.PreviousEncryptionKeyFiles ?? []).Select((p, i) => AbsolutePath(p, $"previousEncryptionKeyFiles:{i}", error))],
            ShutdownGrace = settings.ShutdownGraceSeconds is { } grace ? TimeSpan.FromSeconds(grace) : config.ShutdownGrace,
        };
    }

    private static CronSchedule? ParseSchedule(string? text, string key, Func<string, string, ConfigException> error)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() is "on-demand" or "manual")
        {
            return null;
        }

        CronSchedule expression;
        try
        {
            expression = CronSchedule.Parse(text);
        }
        catch (CronFormatException e)
        {
            throw error(key, $"'{text}' is not a valid cron expression ({e.Message.Split('\n')[0].TrimEnd('.')})");
        }

        // Cron accepts dates no calendar has ("0 0 30 2 *"), and such a job would silently never run. Any instant will
        // do as the start of the search (the validator has no clock): the calendar repeats, leap days included.
        return expression.GetNextOccurrence(CronReference, TimeZoneInfo.Utc) is null
            ? throw error(key, $"'{text}' never fires: no month has that day (a job on it would never run)")
            : expression;
    }

    /// <summary>
    /// A database's name when the config gives none: its file name without the extension, kept as it is when that
    /// is a valid name (so existing setups keep theirs), else lowercased with every other character turned into '-'
    /// ("My App.db" is "my-app", "my.app.db" is "my-app").
    /// </summary>
    private static string DerivedName(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        if (NamePattern().IsMatch(stem))
        {
            return stem;
        }

        var name = Dashes().Replace(NotInName().Replace(stem.ToLowerInvariant(), "-"), "-").Trim('-', '_');
        name = name.Length > MaxNameLength ? name[..MaxNameLength].TrimEnd('-', '_') : name;
        return name.Length > 0 ? name : FallbackDatabaseName;
    }

    private static TimeZoneInfo ParseZone(string? name, Func<string, string, ConfigException> error)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return TimeZoneInfo.Local;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (TimeZoneNotFoundException)
        {
            throw error("timeZone", $"unknown time zone '{name}'; use an IANA name such as Europe/Berlin (is tzdata installed?)");
        }
    }

    private static Uri? HttpUrl(string? text, string key, Func<string, string, ConfigException> error) =>
        text is null ? null
        : Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? url
        : throw error(key, $"'{text}' is not an absolute http(s) URL");

    private static string HostName(string host, string key, Func<string, string, ConfigException> error) =>
        host == "*" || Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6
            ? host.Trim('[', ']').ToLowerInvariant()
            : throw error(key, $"'{host}' is not a host name; give the name alone, without scheme or port (backup.internal), or * for any");

    private static string AbsolutePath(string? path, string key, Func<string, string, ConfigException> error)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw error(key, "missing");
        }

        return Path.IsPathFullyQualified(path) ? Path.GetFullPath(path) : throw error(key, $"'{path}' must be an absolute path");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("[^a-z0-9_-]", RegexOptions.CultureInvariant)]
    private static partial Regex NotInName();

    [GeneratedRegex("-{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Dashes();

    /// <summary>True for a valid database, job or destination name: lowercase letters, digits, '-' or '_'.</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);
}

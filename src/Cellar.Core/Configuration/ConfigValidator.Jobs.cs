using Cellar.Core.Compression;

namespace Cellar.Core.Configuration;

/// <summary>The part of the validator that turns one job's settings into a <see cref="JobConfig"/>: common settings, then its type's.</summary>
internal static partial class ConfigValidator
{
    private static JobConfig ValidateJob(string name, JobSettings job, DatabaseConfig database, string key, Func<string, string, ConfigException> error)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw error(key, $"job name '{name}' must be lowercase letters, digits, '-' or '_'");
        }

        var type = job.Type?.ToLowerInvariant() switch
        {
            "snapshot" => JobType.Snapshot,
            "tables" => JobType.Tables,
            "rotate" => JobType.Rotate,
            "stream" => JobType.Stream,
            null => throw error($"{key}:type", "missing; use snapshot, tables, rotate or stream"),
            var other => throw error($"{key}:type", $"unknown job type '{other}'; use snapshot, tables, rotate or stream"),
        };
        if (type == JobType.Stream)
        {
            // A stream's files are Cellar's own format: bases and segments are zstd, named by generation and transaction.
            if (job.FileName is not null)
            {
                throw error($"{key}:fileName", "a stream job names its files itself (generations, bases, segments)");
            }

            if (job.Compression is not null and not "zstd")
            {
                throw error($"{key}:compression", "a stream job always uses zstd");
            }
        }

        var stream = type == JobType.Stream;
        if (!stream && job.OffsiteIntervalMs is not null)
        {
            throw error($"{key}:offsiteIntervalMs", "applies to stream jobs only (other jobs copy offsite after each run)");
        }

        var compression = stream ? CompressionKind.Zstd : ParseCompression(job, key, error);
        var fullCheck = ParseFullCheck(job, type, key, error);
        var scheduleText = job.Schedule ?? (stream ? StreamBaseSchedule : null);
        var schedule = ParseSchedule(scheduleText, $"{key}:schedule", error);
        var folder = job.Folder ?? name;
        if (folder.Split('/', '\\').Contains(".."))
        {
            throw error($"{key}:folder", $"'{folder}' must not contain '..'");
        }

        var fileName = FileNamePattern(job.FileName ?? DefaultFileName(name, type), Codec.For(compression), $"{key}:fileName", error);
        var keepDays = job.KeepDays ?? (stream ? JobDefaults.StreamKeepDays : JobDefaults.KeepDays);
        if (keepDays is < 1 or > JobDefaults.MaxKeepDays)
        {
            throw error($"{key}:keepDays", $"must be 1..{JobDefaults.MaxKeepDays} (100 years)");
        }

        var keepAtLeast = job.KeepAtLeast ?? JobDefaults.KeepAtLeast;
        if (keepAtLeast < 1)
        {
            throw error($"{key}:keepAtLeast", "must be at least 1: the last good backup is never deleted");
        }

        var common = new SnapshotJob
        {
            Name = name,
            Key = key,
            Database = database,
            Schedule = schedule,
            ScheduleText = schedule is null ? null : scheduleText!.Trim(),
            CatchUp = job.CatchUp ?? JobDefaults.CatchUp,
            HeartbeatUrl = HttpUrl(job.HeartbeatUrl, $"{key}:heartbeatUrl", error),
            WebhookUrl = HttpUrl(job.WebhookUrl, $"{key}:webhookUrl", error),
            Folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder, database.BackupRoot)), // "daily/" is "daily"
            FileName = fileName,
            KeepDays = keepDays,
            KeepAtLeast = keepAtLeast,
            Compression = compression,
            CompressionLevel = job.CompressionLevel,
            FullCheck = fullCheck,
        };

        // The rotation settings are checked whatever the type, as they always were: a typo there is an error even on a job
        // that does not use them.
        var paths = (job.Paths ?? []).Concat(job.Path is null ? [] : [job.Path]).ToList();
        var rotation = ValidateRotation(new RotateJob(common) { Paths = paths }, job, rotates: type == JobType.Rotate, key, error);
        return type switch
        {
            JobType.Stream => new StreamJob(common) { OffsiteInterval = OffsiteInterval(job, key, error) },
            JobType.Rotate => rotation,
            JobType.Tables => ValidateTables(new TablesJob(common) { Tables = job.Tables ?? [] }, key, error),
            _ => common,
        };
    }

    /// <summary>
    /// How often a stream job's new transactions go offsite: from 100 ms (ten PUTs a second while the app writes) to an
    /// hour (what a lost server may cost the destination).
    /// </summary>
    private static TimeSpan OffsiteInterval(JobSettings job, string key, Func<string, string, ConfigException> error) => job.OffsiteIntervalMs switch
    {
        null => JobDefaults.StreamOffsiteInterval,
        < 100 or > 3_600_000 => throw error($"{key}:offsiteIntervalMs", "must be 100..3600000 (100 ms to an hour)"),
        { } ms => TimeSpan.FromMilliseconds(ms),
    };

    private static FullCheck ParseFullCheck(JobSettings job, JobType type, string key, Func<string, string, ConfigException> error)
    {
        if (type is JobType.Rotate or JobType.Stream)
        {
            // A log archive's proof and a stream's bases have one stage, run before the name.
            return job.FullCheck is null ? FullCheck.Inline : throw error($"{key}:fullCheck", "applies to snapshot and tables jobs only (a log archive's proof and a stream's drill have one stage)");
        }

        return job.FullCheck?.Trim().ToLowerInvariant() switch
        {
            null => JobDefaults.FullCheck,
            "deferred" => FullCheck.Deferred,
            "inline" => FullCheck.Inline,
            var other => throw error($"{key}:fullCheck", $"'{other}' is not one of: deferred (after the backup is published), inline (before)"),
        };
    }

    /// <summary>When a stream job takes a new base unless configured: daily, before the seed's nightly backup.</summary>
    private const string StreamBaseSchedule = "30 1 * * *";

    private static CompressionKind ParseCompression(JobSettings job, string key, Func<string, string, ConfigException> error)
    {
        var compression = job.Compression?.ToLowerInvariant() switch
        {
            null => JobDefaults.Compression,
            "gzip" => CompressionKind.Gzip,
            "zstd" => CompressionKind.Zstd,
            "none" => CompressionKind.None,
            var other => throw error($"{key}:compression", $"unknown compression '{other}'; use gzip, zstd or none"),
        };
        var maxLevel = compression switch { CompressionKind.Gzip => 9, CompressionKind.Zstd => 19, _ => 0 };
        if (job.CompressionLevel is { } level && (level < 1 || level > maxLevel))
        {
            throw error($"{key}:compressionLevel", maxLevel == 0 ? "not used without compression" : $"must be 1..{maxLevel} for {compression.ToString().ToLowerInvariant()}");
        }

        return compression;
    }

    /// <summary>A rotate job's own settings: its logs, when to cut early, and how to make the app reopen its log.</summary>
    private static RotateJob ValidateRotation(RotateJob config, JobSettings job, bool rotates, string key, Func<string, string, ConfigException> error)
    {
        var paths = config.Paths;
        if (rotates && paths.Count == 0)
        {
            throw error($"{key}:path", "a rotate job needs 'path' or 'paths'");
        }

        for (var i = 0; i < paths.Count; i++)
        {
            AbsolutePath(paths[i], $"{key}:paths:{i}", error);
            if (Path.GetDirectoryName(paths[i])!.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                throw error($"{key}:paths:{i}", "only the file name may be a glob, not the folder");
            }
        }

        if (rotates && !config.FileName.HasTag && (paths.Count > 1 || paths.Any(p => Path.GetFileName(p).AsSpan().IndexOfAny('*', '?') >= 0)))
        {
            throw error($"{key}:fileName", "a job rotating several logs needs {tag} in its file name (it becomes each log's name)");
        }

        if (job.MaxBytes is < JobDefaults.MinMaxBytes)
        {
            throw error($"{key}:maxBytes", $"must be at least {JobDefaults.MinMaxBytes}");
        }

        var fallbacks = job.Fallbacks is null ? JobDefaults.Fallbacks : [.. job.Fallbacks.Select((f, i) => f.ToLowerInvariant() switch
        {
            "signal" => RotationMethod.Signal,
            "copytruncate" => RotationMethod.CopyTruncate,
            _ => throw error($"{key}:fallbacks:{i}", $"unknown method '{f}'; use signal or copytruncate"),
        })];
        var reopenSignal = job.Signal is null ? JobDefaults.ReopenSignal : job.Signal.ToUpperInvariant().Replace("SIG", string.Empty, StringComparison.Ordinal) switch
        {
            "HUP" => 1,
            "USR1" => 10,
            "USR2" => 12,
            var other => throw error($"{key}:signal", $"'{other}' is not a signal Cellar sends to reopen a log; use HUP, USR1 or USR2"),
        };
        Uri? reopenUrl = null;
        if (job.ReopenUrl is not null && (!Uri.TryCreate(job.ReopenUrl, UriKind.Absolute, out reopenUrl) || reopenUrl.Scheme is not ("http" or "https")))
        {
            throw error($"{key}:reopenUrl", $"'{job.ReopenUrl}' is not an absolute http(s) URL");
        }

        return config with
        {
            MaxBytes = job.MaxBytes,
            Fallbacks = fallbacks,
            PidFile = job.PidFile is null ? null : AbsolutePath(job.PidFile, $"{key}:pidFile", error),
            ReopenSignal = reopenSignal,
            ReopenUrl = reopenUrl,
        };
    }

    /// <summary>
    /// A tables job's list, by its shape only: whether each entry names a table depends on the database's schema at run
    /// time, and a schema that drifted since (a renamed table) fails the runs of this job, never every command.
    /// </summary>
    private static TablesJob ValidateTables(TablesJob config, string key, Func<string, string, ConfigException> error)
    {
        if (config.Tables.Count == 0)
        {
            throw error($"{key}:tables", "a tables job needs a 'tables' list");
        }

        for (var i = 0; i < config.Tables.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(config.Tables[i]))
            {
                throw error($"{key}:tables:{i}", "empty table name");
            }
        }

        return config;
    }

    private static string DefaultFileName(string job, JobType type) => type switch
    {
        JobType.Snapshot => $"{job}-{{yyyy}}-{{MM}}-{{dd}}-{{HH}}{{mm}}{{ss}}.sqlite",
        JobType.Tables => $"{job}-{{yyyy}}-{{MM}}-{{dd}}.sql",
        JobType.Stream => "base-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
        _ => $"{job}-{{yyyy}}-{{MM}}-{{dd}}.log",
    };

    private static FileNamePattern FileNamePattern(string pattern, Codec codec, string key, Func<string, string, ConfigException> error)
    {
        // People write the name they see on disk ("portfolio-{yyyy}-{MM}-{dd}.sqlite.gz"); accept that, but
        // refuse an extension that contradicts 'compression'.
        if (codec.Extension.Length > 0 && pattern.EndsWith(codec.Extension, StringComparison.Ordinal))
        {
            pattern = pattern[..^codec.Extension.Length];
        }
        else if (pattern.EndsWith(".gz", StringComparison.Ordinal) || pattern.EndsWith(".zst", StringComparison.Ordinal))
        {
            throw error(key, $"'{pattern}' ends in a compression extension that does not match 'compression'");
        }

        try
        {
            return Configuration.FileNamePattern.Parse(pattern, codec.Extension);
        }
        catch (FormatException e)
        {
            throw error(key, e.Message);
        }
    }
}

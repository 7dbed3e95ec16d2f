using Cellar.Core.Storage;

namespace Cellar.Core.Configuration;

/// <summary>Checks the <c>offsite</c> destinations of one database and turns them into <see cref="OffsiteDestination"/>s.</summary>
internal static class OffsiteValidator
{
    /// <summary>The environment variable an encryption key may come from instead of <c>encryptionKeyFile</c>.</summary>
    public const string KeyVariable = "CELLAR_ENCRYPTION_KEY";

    /// <summary>The environment variable keys replaced by a rotation may come from (read only), besides <c>previousEncryptionKeyFiles</c>.</summary>
    public const string PreviousKeysVariable = "CELLAR_PREVIOUS_ENCRYPTION_KEYS";

    /// <summary>
    /// Turns the settings into destinations. <c>encrypt</c> defaults to true when <c>encryptionKeyFile</c> is set;
    /// with the key in <see cref="KeyVariable"/> it must be said, and a process without the key then fails loudly
    /// instead of uploading plain copies.
    /// </summary>
    public static IReadOnlyList<OffsiteDestination> Validate(
        Dictionary<string, OffsiteSettings>? destinations, string key, IReadOnlyList<JobConfig> jobs, bool keyConfigured, Func<string, string, ConfigException> error)
    {
        var result = new List<OffsiteDestination>();
        foreach (var (name, settings) in destinations ?? [])
        {
            var k = $"{key}:{name}";
            if (!ConfigValidator.IsName(name))
            {
                throw error(k, $"destination name '{name}' must be lowercase letters, digits, '-' or '_'");
            }

            var destination = new OffsiteDestination(name)
            {
                Encrypt = settings.Encrypt ?? keyConfigured,
                Prune = (settings.Retention ?? "keep") switch
                {
                    "keep" => true,
                    "none" => false,
                    var other => throw error($"{k}:retention", $"'{other}' is not 'keep' (Cellar deletes by keepDays) or 'none' (the bucket's lifecycle rules do)"),
                },
                KeepDays = Checked(settings.KeepDays, $"{k}:keepDays", jobs, error),
                Jobs = settings.Jobs is null ? null : settings.Jobs.Select(job => jobs.Any(j => j.Name == job) ? job : throw error($"{k}:jobs", $"no job '{job}' in this database")).ToHashSet(),
            };

            result.Add((settings.Type ?? "s3").ToLowerInvariant() switch
            {
                "s3" => destination with { S3 = S3(settings, k, error) },
                "local" => destination with
                {
                    FolderPath = settings.Path is { Length: > 0 } path && System.IO.Path.IsPathFullyQualified(path)
                        ? path
                        : throw error($"{k}:path", "a local destination needs an absolute path"),
                },
                var other => throw error($"{k}:type", $"unknown destination type '{other}'; use s3 or local"),
            });
        }

        return result;
    }

    private static S3Options S3(OffsiteSettings settings, string k, Func<string, string, ConfigException> error)
    {
        Uri? endpoint = null;
        if (settings.Endpoint is not null)
        {
            if (!Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("https" or "http"))
            {
                throw error($"{k}:endpoint", $"'{settings.Endpoint}' is not an https:// URL");
            }

            // Said without repeating the URL: the point is that it holds a secret.
            if (endpoint.UserInfo.Length > 0)
            {
                throw error($"{k}:endpoint", "holds credentials (user:password@); remove them and put the keys in credentialsFile");
            }

            // Over plain http the request signatures, the sidecars and every unencrypted copy cross the network in
            // the clear, and anyone on the path can answer in the bucket's place. Loopback (a local MinIO, a test
            // server, a TLS-terminating sidecar) never leaves the machine.
            if (endpoint.Scheme == "http" && !endpoint.IsLoopback)
            {
                throw error($"{k}:endpoint", $"'{settings.Endpoint}' is plain http to another machine; use https:// (http:// is accepted for loopback only)");
            }
        }

        var prefix = settings.Prefix ?? "";
        if (prefix.Length > 0)
        {
            try
            {
                ObjectKey.CheckPrefix(prefix.EndsWith('/') ? prefix : prefix + "/");
            }
            catch (ArgumentException e)
            {
                throw error($"{k}:prefix", e.Message);
            }
        }

        return new S3Options
        {
            Bucket = settings.Bucket is { Length: > 0 } bucket ? bucket : throw error($"{k}:bucket", "missing"),
            Prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/",
            Endpoint = endpoint,
            Region = settings.Region ?? "us-east-1",
            ForcePathStyle = settings.ForcePathStyle ?? false,
            CredentialsFile = settings.CredentialsFile,
            Profile = settings.Profile ?? "default",
            SdkChecksums = settings.SdkChecksums ?? false,
            ChunkedEncoding = settings.ChunkedEncoding ?? false,
            PartSizeBytes = settings.PartSizeMiB is { } mib
                ? mib is >= 5 and <= 512 ? mib << 20 : throw error($"{k}:partSizeMiB", "must be 5..512 (S3's smallest part is 5 MiB)")
                : 16 << 20,
            Retries = settings.Retries is { } retries ? retries is >= 0 and <= 20 ? retries : throw error($"{k}:retries", "must be 0..20") : 6,
        };
    }

    private static Dictionary<string, int> Checked(Dictionary<string, int>? keepDays, string key, IReadOnlyList<JobConfig> jobs, Func<string, string, ConfigException> error)
    {
        foreach (var (job, days) in keepDays ?? [])
        {
            if (jobs.All(j => j.Name != job))
            {
                throw error($"{key}:{job}", $"no job '{job}' in this database");
            }

            if (days is < 1 or > 36500)
            {
                throw error($"{key}:{job}", "must be 1..36500");
            }
        }

        return keepDays ?? [];
    }
}

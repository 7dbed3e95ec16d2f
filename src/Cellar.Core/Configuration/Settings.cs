namespace Cellar.Core.Configuration;

// The shapes the JSON file and CELLAR__ environment variables bind to. Everything is optional here;
// ConfigValidator turns them into the checked, immutable model the engine runs on.

/// <summary>The root of <c>cellar.json</c>: either the short single-database form or a <c>databases</c> list.</summary>
internal sealed class CellarSettings
{
    public string? Database { get; set; }

    public string? BackupRoot { get; set; }

    public string? LogDir { get; set; }

    public string? TimeZone { get; set; }

    public int? Nice { get; set; }

    public string? Listen { get; set; }

    public string? ApiTokenFile { get; set; }

    public string? MetricsTokenFile { get; set; }

    public List<string>? AllowedHosts { get; set; }

    public string? VerifySchedule { get; set; }

    public int? VerifyBudgetMinutes { get; set; }

    public int? ShutdownGraceSeconds { get; set; }

    public Dictionary<string, JobSettings>? Jobs { get; set; }

    public List<DatabaseSettings>? Databases { get; set; }

    public string? EncryptionKeyFile { get; set; }

    public List<string>? PreviousEncryptionKeyFiles { get; set; }

    public Dictionary<string, OffsiteSettings>? Offsite { get; set; }
}

/// <summary>One entry of the <c>databases</c> list.</summary>
internal sealed class DatabaseSettings
{
    public string? Name { get; set; }

    public string? Path { get; set; }

    public string? BackupRoot { get; set; }

    public Dictionary<string, JobSettings>? Jobs { get; set; }

    public Dictionary<string, OffsiteSettings>? Offsite { get; set; }
}

/// <summary>One destination under <c>offsite</c>: an S3-compatible bucket or a folder.</summary>
internal sealed class OffsiteSettings
{
    public string? Type { get; set; }

    public string? Bucket { get; set; }

    public string? Prefix { get; set; }

    public string? Endpoint { get; set; }

    public string? Region { get; set; }

    public bool? ForcePathStyle { get; set; }

    public string? CredentialsFile { get; set; }

    public string? Profile { get; set; }

    public bool? SdkChecksums { get; set; }

    public bool? ChunkedEncoding { get; set; }

    public int? PartSizeMiB { get; set; }

    public int? Retries { get; set; }

    public string? Path { get; set; }

    public bool? Encrypt { get; set; }

    public string? Retention { get; set; }

    public Dictionary<string, int>? KeepDays { get; set; }

    public List<string>? Jobs { get; set; }
}

/// <summary>One job under <c>jobs</c>.</summary>
internal sealed class JobSettings
{
    public string? Type { get; set; }

    public string? Schedule { get; set; }

    public string? Folder { get; set; }

    public string? FileName { get; set; }

    public int? KeepDays { get; set; }

    public int? KeepAtLeast { get; set; }

    public string? Compression { get; set; }

    public int? CompressionLevel { get; set; }

    public List<string>? Tables { get; set; }

    public string? Path { get; set; }

    public List<string>? Paths { get; set; }

    public long? MaxBytes { get; set; }

    public bool? CatchUp { get; set; }

    public int? OffsiteIntervalMs { get; set; }

    public string? FullCheck { get; set; }

    public string? HeartbeatUrl { get; set; }

    public string? WebhookUrl { get; set; }

    public List<string>? Fallbacks { get; set; }

    public string? PidFile { get; set; }

    public string? Signal { get; set; }

    public string? ReopenUrl { get; set; }
}

using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Cellar.Core.Configuration;

/// <summary>
/// Finds and reads the configuration: <c>--config PATH</c>, else <c>$CELLAR_CONFIG</c>, else <c>./cellar.json</c>,
/// else <c>/etc/cellar/cellar.json</c>, else the seed's setup; then <c>CELLAR__</c> environment variables
/// override any key (<c>CELLAR__jobs__daily__keepDays=60</c>).
/// </summary>
public static class ConfigLoader
{
    /// <summary>The environment variable that names the config file.</summary>
    public const string PathVariable = "CELLAR_CONFIG";

    /// <summary>The prefix of environment variables that override config keys.</summary>
    public const string OverridePrefix = "CELLAR__";

    /// <summary>Loads and validates the configuration; throws <see cref="ConfigException"/> naming the bad key.</summary>
    public static CellarConfig Load(string? explicitPath)
    {
        var path = Locate(explicitPath);
        var builder = new ConfigurationBuilder();
        if (path is null)
        {
            builder.AddInMemoryCollection(SeedDefaults.Values());
        }
        else
        {
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(OverridePrefix);
        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (InvalidDataException e)
        {
            var detail = e.InnerException is JsonException json ? $" at line {json.LineNumber + 1}: {FirstLine(json.Message)}" : "";
            throw new ConfigException($"config {path}: not valid JSON{detail}", e);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"config {path}: {FirstLine(e.Message)}", e);
        }

        UnknownKeys.Check(root, typeof(CellarSettings), path ?? "defaults");
        CellarSettings settings;
        try
        {
            settings = root.Get<CellarSettings>() ?? new CellarSettings();
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException($"config {path ?? "defaults"}: {FirstLine(e.InnerException?.Message ?? e.Message)}", e);
        }

        return ConfigValidator.Validate(settings, path);
    }

    private static string? Locate(string? explicitPath)
    {
        var named = explicitPath ?? Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(named))
        {
            var full = Path.GetFullPath(named);
            return File.Exists(full) ? full : throw new ConfigException($"config file {full} does not exist");
        }

        foreach (var candidate in new[] { Path.GetFullPath("cellar.json"), "/etc/cellar/cellar.json" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

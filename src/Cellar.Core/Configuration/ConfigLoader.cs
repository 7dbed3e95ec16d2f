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
    public static CellarConfig Load(string? explicitPath) =>
        Load(explicitPath, Environment.GetEnvironmentVariable(PathVariable), [Path.GetFullPath("cellar.json"), "/etc/cellar/cellar.json"], environmentOverrides: true);

    /// <summary>
    /// <see cref="Load(string?)"/> with the machine's inputs passed in (the <c>$CELLAR_CONFIG</c> value, the files
    /// searched, whether <c>CELLAR__</c> variables apply), so the outcome does not depend on where it runs.
    /// </summary>
    internal static CellarConfig Load(string? explicitPath, string? pathVariable, IReadOnlyList<string> searchPaths, bool environmentOverrides)
    {
        var path = Locate(explicitPath ?? pathVariable, searchPaths);
        var builder = new ConfigurationBuilder();
        if (path is null)
        {
            builder.AddInMemoryCollection(SeedDefaults.Values());
        }
        else
        {
            builder.AddJsonStream(ConfigFile.Read(path));
        }

        if (environmentOverrides)
        {
            builder.AddEnvironmentVariables(OverridePrefix);
        }

        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception e) when (FindJsonError(e) is { } json)
        {
            // Its own message counts lines from 0, so drop that part.
            throw new ConfigException($"config {path}: not valid JSON at line {json.LineNumber + 1}: {FirstLine(json.Message).Split(" LineNumber:")[0]}", e);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"config {path}: {FirstLine(e.Message)}", e);
        }

        var sources = new ConfigSources(root, path);
        UnknownKeys.Check(root, typeof(CellarSettings), sources);
        CellarSettings settings;
        try
        {
            settings = root.Get<CellarSettings>() ?? new CellarSettings();
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException($"config {path ?? "defaults"}: {FirstLine(e.InnerException?.Message ?? e.Message)}", e);
        }

        return ConfigValidator.Validate(settings, path, sources.Error);
    }

    private static string? Locate(string? named, IReadOnlyList<string> searchPaths)
    {
        if (!string.IsNullOrEmpty(named))
        {
            var full = Path.GetFullPath(named);
            return Directory.Exists(full) ? throw new ConfigException($"config {full} is a folder; give the path of the JSON file in it, e.g. {Path.Combine(full, "cellar.json")}")
                : File.Exists(full) ? full
                : throw new ConfigException($"config file {full} does not exist");
        }

        foreach (var candidate in searchPaths)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static JsonException? FindJsonError(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is JsonException json)
            {
                return json;
            }
        }

        return null;
    }
}

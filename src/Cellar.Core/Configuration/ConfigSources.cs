using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace Cellar.Core.Configuration;

/// <summary>
/// Names where a key came from, so an error points at what the operator must change: the config file (or the
/// seed's defaults), or the <c>CELLAR__</c> environment variable that overrode it. A config file has no
/// <c>keepDays: abc</c> to find when the value came from <c>CELLAR__jobs__daily__keepDays=abc</c>.
/// </summary>
internal sealed class ConfigSources(IConfigurationRoot root, string? file)
{
    /// <summary>The one-line error for a bad <paramref name="key"/>, naming the file or the environment variable it came from.</summary>
    public ConfigException Error(string key, string problem) => Variable(key) switch
    {
        null => new($"config {file ?? "defaults"}: {key}: {problem}"),
        var name when string.Equals(KeyOf(name), key, StringComparison.OrdinalIgnoreCase) => new($"environment variable {name}: {problem}"),
        var name => new($"environment variable {name}: {key}: {problem}"),
    };

    /// <summary>The error for a key no setting reads.</summary>
    public ConfigException Unknown(string key) =>
        new($"{(Variable(key) is { } name ? $"environment variable {name}" : $"config {file ?? "defaults"}")}: unknown key '{key}'");

    /// <summary>
    /// The environment variable behind <paramref name="key"/>, or null when the file supplied it. A value comes from
    /// the last provider that holds it; a key nobody holds (a missing setting) belongs to the nearest section above
    /// it, and a section to the environment only when nothing else holds any of it (<c>CELLAR__jobs__dialy__keepDays</c>
    /// made a job "dialy" that has no type).
    /// </summary>
    private string? Variable(string key)
    {
        for (var path = key; path is not null; path = ConfigurationPath.GetParentPath(path))
        {
            var values = root.Providers.Where(p => p.TryGet(path, out _)).ToList();
            if (values.Count > 0)
            {
                return values[^1] is EnvironmentVariablesConfigurationProvider ? VariableName(path) : null;
            }

            var sections = root.Providers.Where(p => p.GetChildKeys([], path).Any()).ToList();
            if (sections.Count > 0)
            {
                return sections.All(p => p is EnvironmentVariablesConfigurationProvider) ? VariableName(path) : null;
            }
        }

        return null;
    }

    /// <summary>The variable as it is spelt in the environment (configuration keys keep no case of their own).</summary>
    private static string VariableName(string key)
    {
        var names = Environment.GetEnvironmentVariables().Keys.OfType<string>()
            .Where(n => n.StartsWith(ConfigLoader.OverridePrefix, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        return names.FirstOrDefault(n => string.Equals(KeyOf(n), key, StringComparison.OrdinalIgnoreCase))
            ?? names.FirstOrDefault(n => KeyOf(n).StartsWith(key + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase))
            ?? ConfigLoader.OverridePrefix + key.Replace(ConfigurationPath.KeyDelimiter, "__", StringComparison.Ordinal);
    }

    /// <summary>The config key an override variable sets (<c>CELLAR__jobs__daily__keepDays</c> sets <c>jobs:daily:keepDays</c>).</summary>
    private static string KeyOf(string variable) =>
        variable[ConfigLoader.OverridePrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
}

using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// Environment variables are process-wide, so tests that set them run in this collection, which xunit runs
/// on its own after every parallel test has finished.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentGroup
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Cellar.Tests.Configuration: process environment";
}

/// <summary><c>CELLAR__</c> environment variables override any key of the config file.</summary>
[Collection(ProcessEnvironmentGroup.Name)]
public sealed class ConfigEnvironmentTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WriteConfig()
    {
        var path = _temp.Combine("cellar.json");
        File.WriteAllText(path, $$"""
            {
              "database": "{{_temp.Combine("portfolio.sqlite")}}",
              "backupRoot": "{{_temp.Combine("backups")}}",
              "logDir": "{{_temp.Combine("logs")}}",
              "jobs": { "daily": { "type": "snapshot", "schedule": "0 2 * * *", "keepDays": 30 } }
            }
            """);
        return path;
    }

    private static T WithVariable<T>(string name, string value, Func<T> action)
    {
        var before = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try
        {
            return action();
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, before);
        }
    }

    [Fact]
    public void An_environment_variable_overrides_a_key_of_the_config_file()
    {
        var path = WriteConfig();

        var config = WithVariable("CELLAR__jobs__daily__keepDays", "60", () => ConfigLoader.Load(path));

        Assert.Equal(60, config.FindJob("daily").KeepDays);
        Assert.Equal(30, ConfigLoader.Load(path).FindJob("daily").KeepDays);
    }

    [Fact]
    public void An_environment_variable_overrides_a_seed_default()
    {
        var config = WithVariable(
            "CELLAR__jobs__daily__keepDays",
            "45",
            () => ConfigLoader.Load(null, pathVariable: null, searchPaths: [], environmentOverrides: true));

        Assert.Equal(45, config.FindJob("daily").KeepDays);
    }

    [Fact]
    public void A_misspelt_environment_variable_is_refused_like_a_misspelt_key()
    {
        var path = WriteConfig();

        var error = Assert.Throws<ConfigException>(() => WithVariable("CELLAR__jobs__daily__kepDays", "60", () => ConfigLoader.Load(path)));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains("kepDays", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_numeric_environment_override_is_refused_naming_the_key()
    {
        var path = WriteConfig();

        var error = Assert.Throws<ConfigException>(() => WithVariable("CELLAR__jobs__daily__keepDays", "sixty", () => ConfigLoader.Load(path)));

        Assert.Equal(2, error.ExitCode);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("keepDays", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}

using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// The keys that decide who can reach Cellar and what crosses the network: an S3 endpoint that would send requests in
/// the clear to another machine or carry credentials in its URL, and <c>allowedHosts</c> entries that are not host
/// names, stop Cellar with one line naming the key (exit 2).
/// </summary>
public sealed class DaemonSurfaceConfigTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("https://fra1.digitaloceanspaces.com")]
    [InlineData("http://127.0.0.1:9000")]
    [InlineData("http://localhost:9000")]
    [InlineData("http://[::1]:9000")]
    public void An_https_endpoint_or_a_plain_http_one_on_loopback_is_accepted(string endpoint)
    {
        var config = Load($$""" "offsite": { "spaces": { "bucket": "b", "endpoint": "{{endpoint}}" } } """);

        Assert.Equal(new Uri(endpoint), config.Databases[0].Offsite[0].S3!.Endpoint);
    }

    [Theory]
    [InlineData("http://fra1.digitaloceanspaces.com", "plain http to another machine")]
    [InlineData("http://10.0.0.5:9000", "plain http to another machine")]
    [InlineData("https://AKIAEXAMPLE:hunter2-secret@fra1.digitaloceanspaces.com", "holds credentials")]
    [InlineData("http://minio:hunter2-secret@127.0.0.1:9000", "holds credentials")]
    public void An_endpoint_in_the_clear_to_another_machine_or_with_credentials_in_it_is_refused(string endpoint, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => Load($$""" "offsite": { "spaces": { "bucket": "b", "endpoint": "{{endpoint}}" } } """));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains("offsite:spaces:endpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowedHosts_takes_host_names_and_refuses_a_URL_or_a_port()
    {
        var config = Load(""" "allowedHosts": ["Backup.Internal", "*"] """);
        var url = Assert.Throws<ConfigException>(() => Load(""" "allowedHosts": ["backup.internal", "https://backup.internal:8787"] """));

        Assert.Equal(["backup.internal", "*"], config.AllowedHosts);
        Assert.Contains("allowedHosts:1", url.Message, StringComparison.Ordinal);
    }

    private CellarConfig Load(string extra)
    {
        var path = _temp.Combine("cellar.json");
        File.WriteAllText(path, $$"""
            {
              "database": "{{_temp.Combine("portfolio.sqlite")}}",
              "backupRoot": "{{_temp.Combine("backups")}}",
              "logDir": "{{_temp.Combine("logs")}}",
              "jobs": { "daily": { "type": "snapshot", "schedule": "0 2 * * *" } },
              {{extra}}
            }
            """);
        return ConfigLoader.Load(path, pathVariable: null, searchPaths: [], environmentOverrides: false);
    }
}

using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Cellar.Core.Configuration;
using Cellar.Daemon;
using Cellar.Tests.Cli;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>The daemon app in this process, on a sandbox with a daily and a gallery job.</summary>
internal sealed class InProcessDaemon : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessDaemon(WebApplication app, CliSandbox sandbox, Uri address)
    {
        _app = app;
        Sandbox = sandbox;
        Address = address;
    }

    public CliSandbox Sandbox { get; }

    public Uri Address { get; }

    /// <summary>The app's services, to look at what it maps.</summary>
    public IServiceProvider Services => _app.Services;

    public CancellationToken Ct { get; } = TestContext.Current.CancellationToken;

    /// <summary>Starts the daemon; its log goes to <paramref name="logs"/> when given, else nowhere.</summary>
    public static async Task<InProcessDaemon> StartAsync(string? token, TimeProvider? time = null, Action<JsonNode>? configure = null, ILoggerProvider? logs = null)
    {
        var sandbox = await CliSandbox.CreateAsync(2 << 20);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath))!;
        config["listen"] = "http://127.0.0.1:0";
        config["jobs"]!["gallery"] = new JsonObject
        {
            ["type"] = "snapshot",
            ["folder"] = "event-triggered",
            ["fileName"] = "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
            ["keepDays"] = 90,
        };
        if (token is not null)
        {
            var tokenFile = sandbox.Combine("api-token");
            await File.WriteAllTextAsync(tokenFile, token);
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            config["apiTokenFile"] = tokenFile;
        }

        configure?.Invoke(config);
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString());
        var app = DaemonApp.Build(ConfigLoader.Load(sandbox.ConfigPath), time ?? TimeProvider.System, logging =>
        {
            logging.ClearProviders();
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new InProcessDaemon(app, sandbox, new Uri(address));
    }

    public HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        Sandbox.Dispose();
    }
}

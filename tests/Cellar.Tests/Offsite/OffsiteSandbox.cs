using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cellar.Core.Storage;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>A <see cref="CliSandbox"/> whose config copies its backups to a real s3rver on loopback, encrypted.</summary>
internal sealed class OffsiteSandbox : IAsyncDisposable
{
    private OffsiteSandbox(CliSandbox cli, S3Server server)
    {
        Cli = cli;
        Server = server;
    }

    public CliSandbox Cli { get; }

    public S3Server Server { get; }

    public string KeyFile => Cli.Combine("offsite.key");

    /// <summary>A store on the same bucket and prefix as the configured destination, to inspect or damage objects.</summary>
    public S3ObjectStore Store() => new(Server.Options("cellar/"));

    public static async Task<OffsiteSandbox> CreateAsync(long databaseBytes, Action<JsonObject>? destination = null)
    {
        var cli = await CliSandbox.CreateAsync(databaseBytes);
        var server = await S3Server.StartAsync(TestContext.Current.CancellationToken);
        var sandbox = new OffsiteSandbox(cli, server);
        WriteKey(sandbox.KeyFile);
        sandbox.Configure(destination);
        return sandbox;
    }

    /// <summary>Writes a fresh random key, owner-only, as an operator would with <c>head -c 32 /dev/urandom</c>.</summary>
    public static void WriteKey(string path)
    {
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Adds the <c>spaces</c> destination (this server, prefix <c>cellar/</c>) and the key file to the config.</summary>
    public void Configure(Action<JsonObject>? destination = null, string? keyFile = null)
    {
        var config = JsonNode.Parse(File.ReadAllText(Cli.ConfigPath))!.AsObject();
        var spaces = new JsonObject
        {
            ["type"] = "s3",
            ["bucket"] = S3Server.Bucket,
            ["prefix"] = "cellar",
            ["endpoint"] = Server.Endpoint.AbsoluteUri,
            ["forcePathStyle"] = true,
            ["credentialsFile"] = Server.CredentialsFile,
            ["partSizeMiB"] = 5,
            ["retries"] = 3,
        };
        destination?.Invoke(spaces);
        config["encryptionKeyFile"] = keyFile ?? KeyFile;
        config["offsite"] = new JsonObject { ["spaces"] = spaces };
        File.WriteAllText(Cli.ConfigPath, config.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Cli.Dispose();
    }
}

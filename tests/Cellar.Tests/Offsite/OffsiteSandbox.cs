using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cellar.Core.Storage;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Offsite;

/// <summary>
/// A <see cref="CliSandbox"/> whose config copies its backups to a real s3rver on loopback: encrypted with a key
/// file, or (<c>keyInEnvironment</c>) with no key in the config and the key given to each run in
/// <c>CELLAR_ENCRYPTION_KEY</c>, as a disaster-recovery setup often does.
/// </summary>
internal sealed class OffsiteSandbox : IAsyncDisposable
{
    private readonly bool _keyInEnvironment;

    private OffsiteSandbox(CliSandbox cli, S3Server server, bool keyInEnvironment)
    {
        Cli = cli;
        Server = server;
        _keyInEnvironment = keyInEnvironment;
    }

    public CliSandbox Cli { get; }

    public S3Server Server { get; }

    public string KeyFile => Cli.Combine("offsite.key");

    /// <summary>A store on the same bucket and prefix as the configured destination, to inspect or damage objects.</summary>
    public S3ObjectStore Store() => new(Server.Options("cellar/"));

    /// <summary>The key as 64 hex characters, as <c>CELLAR_ENCRYPTION_KEY</c> takes it.</summary>
    public string KeyHex => Convert.ToHexStringLower(File.ReadAllBytes(KeyFile));

    public static async Task<OffsiteSandbox> CreateAsync(long databaseBytes, Action<JsonObject>? destination = null, bool withSocial = false, bool keyInEnvironment = false)
    {
        var cli = await CliSandbox.CreateAsync(databaseBytes, withSocial: withSocial);
        var server = await S3Server.StartAsync(TestContext.Current.CancellationToken);
        var sandbox = new OffsiteSandbox(cli, server, keyInEnvironment);
        WriteKey(sandbox.KeyFile);
        sandbox.Configure(destination);
        return sandbox;
    }

    /// <summary>Runs <c>cellar ARGS</c> with the key in <c>CELLAR_ENCRYPTION_KEY</c> (and <paramref name="environment"/>).</summary>
    public Task<CellarRun> CellarWithKeyAsync(string[] args, IDictionary<string, string>? environment = null) =>
        CellarProcess.RunAsync(["--config", Cli.ConfigPath, .. args], TestContext.Current.CancellationToken,
            new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["CELLAR_ENCRYPTION_KEY"] = KeyHex });

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
        config.Remove("encryptionKeyFile");
        if (!_keyInEnvironment)
        {
            config["encryptionKeyFile"] = keyFile ?? KeyFile;
        }

        config["offsite"] = new JsonObject { ["spaces"] = spaces };
        File.WriteAllText(Cli.ConfigPath, config.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Cli.Dispose();
    }
}

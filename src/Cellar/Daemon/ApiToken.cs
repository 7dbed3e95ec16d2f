using System.Security.Cryptography;
using System.Text;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Daemon;

/// <summary>
/// The admin API's bearer token, from <c>apiTokenFile</c> (a secret file, see <see cref="SecretFile"/>) or
/// <c>$CELLAR_API_TOKEN</c>. Compared in constant time
/// (on SHA-256 digests, so not even the length leaks). Without one the admin routes answer 503, and a daemon
/// listening beyond loopback without one refuses to start.
/// </summary>
internal sealed class ApiToken
{
    private const int LongestFile = 4096;

    private readonly byte[]? _digest;

    private ApiToken(string? token) => _digest = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when a token is configured.</summary>
    public bool Configured => _digest is not null;

    public static ApiToken Load(CellarConfig config)
    {
        string? token;
        if (config.ApiTokenFile is { } file)
        {
            token = Encoding.UTF8.GetString(SecretFile.Read(file, "apiTokenFile", LongestFile)).Trim();
        }
        else
        {
            token = EnvironmentSecrets.Get(EnvironmentSecrets.ApiTokenVariable)?.Trim();
        }

        if (token is { Length: > 0 and < 16 })
        {
            throw new ConfigException("the admin API token is shorter than 16 characters; use e.g. `openssl rand -hex 32`");
        }

        var loaded = new ApiToken(string.IsNullOrEmpty(token) ? null : token);
        if (!loaded.Configured && !config.Listen.IsLoopback)
        {
            throw new ConfigException($"listen {config.Listen} is not loopback and no admin API token is set (apiTokenFile or {EnvironmentSecrets.ApiTokenVariable}): refusing to start");
        }

        return loaded;
    }

    /// <summary>True when the <c>Authorization</c> header carries this token.</summary>
    public bool Accepts(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (_digest is null || authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var offered = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(offered, _digest);
    }
}

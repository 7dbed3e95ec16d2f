using System.Security.Cryptography;
using System.Text;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Daemon;

/// <summary>
/// A bearer token the daemon requires: the admin API's (from <c>apiTokenFile</c> or <c>$CELLAR_API_TOKEN</c>) or the
/// optional one for <c>/metrics</c> (<c>metricsTokenFile</c>). A token file is a secret file (owner-only, see
/// <see cref="SecretFile"/>). Compared in constant time (on SHA-256 digests, so not even the length leaks).
/// </summary>
internal sealed class BearerToken
{
    private const int MinLength = 16;
    private const int LongestFile = 4096;

    private readonly byte[]? _digest;

    private BearerToken(string? token) => _digest = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when a token is configured.</summary>
    public bool Configured => _digest is not null;

    /// <summary>
    /// The admin API's token. Without one the admin routes answer 503, and a daemon listening beyond loopback
    /// without one refuses to start.
    /// </summary>
    public static BearerToken Admin(CellarConfig config)
    {
        var token = config.ApiTokenFile is { } file
            ? Read(file, "apiTokenFile")
            : Checked(EnvironmentSecrets.Get(EnvironmentSecrets.ApiTokenVariable)?.Trim(), EnvironmentSecrets.ApiTokenVariable);
        if (!token.Configured && !config.Listen.IsLoopback)
        {
            throw new ConfigException($"listen {config.Listen} is not loopback and no admin API token is set (apiTokenFile or {EnvironmentSecrets.ApiTokenVariable}): refusing to start");
        }

        return token;
    }

    /// <summary>The token <c>/metrics</c> requires, when <c>metricsTokenFile</c> is set.</summary>
    public static BearerToken Metrics(CellarConfig config) =>
        config.MetricsTokenFile is { } file ? Read(file, "metricsTokenFile") : new BearerToken(null);

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

    private static BearerToken Read(string file, string key)
    {
        var token = Checked(Encoding.UTF8.GetString(SecretFile.Read(file, key, LongestFile)).Trim(), $"{key} {file}");
        return token.Configured ? token : throw new ConfigException($"{key} {file} is empty; put a token of {MinLength}+ characters in it, e.g. `openssl rand -hex 32`");
    }

    private static BearerToken Checked(string? token, string source) =>
        token is { Length: > 0 and < MinLength }
            ? throw new ConfigException($"the token in {source} is shorter than {MinLength} characters; use e.g. `openssl rand -hex 32`")
            : new BearerToken(token);
}

using System.Text;
using Amazon.Runtime;
using Cellar.Core.IO;

namespace Cellar.Core.Storage;

/// <summary>
/// Reads static keys from an AWS-style credentials file (<c>[profile]</c> sections of <c>aws_access_key_id</c>,
/// <c>aws_secret_access_key</c> and optionally <c>aws_session_token</c>; <c>#</c> and <c>;</c> start comment lines).
/// Parsed here rather than by the SDK, whose reader takes a path: the file is checked as a secret on the same open
/// handle its keys are read from.
/// </summary>
internal static class S3CredentialsFile
{
    /// <summary>Far more than any credentials file; a larger one is not one.</summary>
    private const int MaxBytes = 64 << 10;

    /// <summary>The credentials of <paramref name="profile"/> in <paramref name="path"/>, or a one-line <see cref="ConfigException"/>.</summary>
    public static AWSCredentials Read(string path, string profile)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"credentials file {path} does not exist");
        }

        var values = Profile(Encoding.UTF8.GetString(SecretFile.Read(path, "credentials file", MaxBytes)), profile);
        if (!values.TryGetValue("aws_access_key_id", out var id) || !values.TryGetValue("aws_secret_access_key", out var secret)
            || id.Length == 0 || secret.Length == 0)
        {
            throw new ConfigException($"credentials file {path}: no usable profile '{profile}' (aws_access_key_id and aws_secret_access_key)");
        }

        return values.TryGetValue("aws_session_token", out var token) && token.Length > 0
            ? new SessionAWSCredentials(id, secret, token)
            : new BasicAWSCredentials(id, secret);
    }

    private static Dictionary<string, string> Profile(string text, string profile)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var inProfile = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                inProfile = line[1..^1].Trim() == profile;
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (inProfile && equals > 0)
            {
                values[line[..equals].Trim()] = line[(equals + 1)..].Trim();
            }
        }

        return values;
    }
}

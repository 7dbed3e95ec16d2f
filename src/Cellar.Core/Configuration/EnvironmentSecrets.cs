using System.Runtime.InteropServices;

namespace Cellar.Core.Configuration;

/// <summary>
/// Secrets that may be given in environment variables (<see cref="OffsiteValidator.KeyVariable"/>,
/// <see cref="OffsiteValidator.PreviousKeysVariable"/>, <see cref="ApiTokenVariable"/>), taken out of the environment the first time any is asked for, which the host
/// does as it starts: a process Cellar starts does not inherit them, and <c>/proc/PID/environ</c> shows the
/// variable's name with its value blanked. What stays is the copy in this process's memory.
/// </summary>
internal static unsafe partial class EnvironmentSecrets
{
    /// <summary>The environment variable the admin API's token may come from instead of <c>apiTokenFile</c>.</summary>
    public const string ApiTokenVariable = "CELLAR_API_TOKEN";

    private static readonly Lazy<Dictionary<string, string>> Taken = new(() =>
    {
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in new[] { OffsiteValidator.KeyVariable, OffsiteValidator.PreviousKeysVariable, ApiTokenVariable })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                taken[name] = value;
                Remove(name);
            }
        }

        return taken;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Takes the secrets out of the environment now (idempotent); the host calls it before anything else runs.</summary>
    public static void Withdraw() => _ = Taken.Value;

    /// <summary>The value <paramref name="name"/> had in the environment when the secrets were withdrawn, or null.</summary>
    public static string? Get(string name) => Taken.Value.GetValueOrDefault(name);

    private static void Remove(string name)
    {
        // .NET keeps its own copy of the environment on Unix, which is what the processes it starts inherit.
        Environment.SetEnvironmentVariable(name, null);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // libc's copy: unsetenv(3) drops the entry for native code and forks, but the bytes stay in the block the
        // kernel shows as /proc/PID/environ, so they are zeroed first, in place.
        var value = GetEnv(name);
        if (value != null)
        {
            new Span<byte>(value, MemoryMarshal.CreateReadOnlySpanFromNullTerminated(value).Length).Clear();
        }

        UnsetEnv(name);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);
}

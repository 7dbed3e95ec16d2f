namespace Cellar.Core;

/// <summary>
/// An error an operator can act on: the message is one line that names what failed and where.
/// The host maps <see cref="ExitCode"/> to the process exit code (1 operation failed, 2 usage or configuration).
/// </summary>
public class CellarException : Exception
{
    /// <summary>Creates an operation failure (exit code 1).</summary>
    public CellarException(string message, Exception? inner = null) : this(message, 1, inner) { }

    /// <summary>Creates an error with an explicit exit code.</summary>
    protected CellarException(string message, int exitCode, Exception? inner) : base(message, inner) => ExitCode = exitCode;

    /// <summary>The process exit code this error maps to.</summary>
    public int ExitCode { get; }
}

/// <summary>A configuration or usage error: exit code 2, nothing was touched.</summary>
public sealed class ConfigException : CellarException
{
    /// <summary>Creates a configuration error naming the offending key.</summary>
    public ConfigException(string message, Exception? inner = null) : base(message, 2, inner) { }
}

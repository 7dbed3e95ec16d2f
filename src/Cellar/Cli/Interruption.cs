using System.Runtime.InteropServices;

namespace Cellar.Cli;

/// <summary>
/// Turns SIGTERM, SIGINT, SIGHUP and SIGXFSZ into cancellation, so a command that is stopped unwinds like any
/// failed one: temp files deleted, nothing half-written left under any name, one line said. Without this, .NET ends
/// the process at once on SIGHUP and SIGXFSZ (and System.CommandLine 2 s after SIGTERM), leaving database-sized temp
/// files behind. A second TERM, INT or HUP ends the process at once, for a cleanup that hangs.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>SIGXFSZ on Linux: a write went past the file size limit (ulimit -f); handled, the write fails with EFBIG instead.</summary>
    private const int SigXfsz = 25;

    private readonly CancellationTokenSource _cancel = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signal;

    public Interruption()
    {
        foreach (var signal in OperatingSystem.IsWindows()
            ? [PosixSignal.SIGINT, PosixSignal.SIGTERM]
            : new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, (PosixSignal)SigXfsz })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, Handle));
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The first signal received, as its name (SIGTERM), or null.</summary>
    public string? Signal => Volatile.Read(ref _signal) switch
    {
        0 => null,
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        SigXfsz => "SIGXFSZ",
        var other => $"signal {other}",
    };

    /// <summary>The shell's exit code for a process ended by the signal: 128 + its number.</summary>
    public int ExitCode => 128 + Volatile.Read(ref _signal);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        var number = context.Signal switch
        {
            PosixSignal.SIGHUP => 1,
            PosixSignal.SIGINT => 2,
            PosixSignal.SIGTERM => 15,
            var raw => (int)raw,
        };

        // SIGXFSZ is never left to its default action (a core dump mid-write); the write it interrupts fails instead.
        if (Interlocked.CompareExchange(ref _signal, number, 0) == 0 || number == SigXfsz)
        {
            context.Cancel = true;
            _cancel.Cancel();
        }
    }
}

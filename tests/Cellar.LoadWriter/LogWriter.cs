using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Cellar.LoadWriter;

/// <summary>
/// <c>Cellar.LoadWriter log --path FILE [--no-append] [--reopen-on-hup] [--pid-file FILE] [--rate LINES_PER_S]</c>: plays
/// an app's logger, appending numbered lines (<c>0000000000\n</c>, <c>0000000001\n</c>, …) as fast as it can (or at
/// most <c>--rate</c> a second, for a log that stays small), one write(2) per line,
/// like Node's <c>fs.createWriteStream(path, { flags: 'a' })</c>. With <c>--no-append</c> it opens without O_APPEND
/// and keeps its own offset, like a careless logger. With <c>--reopen-on-hup</c> SIGHUP makes it reopen the path.
/// Prints <c>started</c> after its first line, runs until stdin closes, then prints <c>{"lines":N}</c>.
/// </summary>
internal static partial class LogWriter
{
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;
    private const int SigHup = 1;
    private const nint SigDfl = 0;

    private static volatile bool _reopen;

    /// <summary>The <c>log</c> subcommand.</summary>
    public static Command Create()
    {
        var path = new Option<string>("--path") { Description = "The log file to append to", Required = true };
        var pidFile = new Option<string?>("--pid-file") { Description = "A file to write this process's pid to, for SIGHUP" };
        var noAppend = new Option<bool>("--no-append") { Description = "Open without O_APPEND and keep an own offset, like a careless logger" };
        var reopenOnHup = new Option<bool>("--reopen-on-hup") { Description = "Reopen the path on SIGHUP" };
        var rate = new Option<long>("--rate") { Description = "At most this many lines a second (default: as fast as it can)", CustomParser = ParseRate };
        var command = new Command("log", "Plays an app's logger: appends numbered lines to a file until stdin closes")
        {
            path,
            pidFile,
            noAppend,
            reopenOnHup,
            rate,
        };
        command.SetAction(parse => Run(parse.GetValue(path)!, parse.GetValue(pidFile), !parse.GetValue(noAppend), parse.GetValue(reopenOnHup), parse.GetValue(rate)));
        return command;
    }

    private static long ParseRate(ArgumentResult result)
    {
        var value = result.Tokens[0].Value;
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) || rate <= 0)
        {
            result.AddError($"--rate must be a positive number of lines a second, not '{value}'");
        }

        return rate;
    }

    /// <summary>Writes lines until stdin closes; <paramref name="rate"/> 0 is as fast as it can.</summary>
    private static int Run(string path, string? pidFile, bool append, bool reopenOnHup, long rate)
    {
        if (reopenOnHup)
        {
            // Started under nohup (a test run or a CI job detached that way), SIGHUP arrives ignored, and .NET then
            // leaves it ignored whatever is registered. An app that reopens its log on SIGHUP installs its handler
            // regardless (Node's process.on('SIGHUP') does), so this one takes the signal back first.
            _ = Signal(SigHup, SigDfl);
        }

        using var hup = reopenOnHup ? PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _reopen = true;
        }) : null;
        if (pidFile is not null)
        {
            File.WriteAllText(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        }

        var stop = false;
        var stdin = new Thread(() =>
        {
            Console.In.ReadToEnd();
            stop = true;
        }) { IsBackground = true };
        stdin.Start();

        var flags = OWronly | OCreat | (append ? OAppend : 0);
        var fd = Open(path, flags, 0x1A4);
        long n = 0;
        var line = new byte[11];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Volatile.Read(ref stop))
        {
            if (rate > 0 && n * 1000 / rate > clock.ElapsedMilliseconds)
            {
                Thread.Sleep(1);
                continue;
            }

            if (_reopen)
            {
                _reopen = false;
                _ = Close(fd);
                fd = Open(path, flags, 0x1A4);
            }

            Encoding.ASCII.GetBytes(n.ToString("D10", CultureInfo.InvariantCulture), line);
            line[10] = (byte)'\n';
            if (Write(fd, line, line.Length) != line.Length)
            {
                Console.Error.WriteLine($"Cellar.LoadWriter log: write failed (errno {Marshal.GetLastPInvokeError()})");
                return 1;
            }

            if (n++ == 0)
            {
                Console.Out.WriteLine("started");
                Console.Out.Flush();
            }
        }

        _ = Close(fd);
        Console.Out.WriteLine($"{{\"lines\":{n}}}");
        return 0;
    }

    private static int Open(string path, int flags, int mode)
    {
        var fd = OpenNative(path, flags, mode);
        return fd >= 0 ? fd : throw new IOException($"cannot open {path} (errno {Marshal.GetLastPInvokeError()})");
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);
}

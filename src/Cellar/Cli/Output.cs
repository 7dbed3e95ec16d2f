using System.Globalization;
using Cellar.Core.Catalog;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary>How the CLI shows sizes, ages and times to people.</summary>
internal static class Output
{
    /// <summary>
    /// Tables on stdout. Redirected output has no terminal width, and Spectre would wrap every cell at 80
    /// columns; a wide virtual width keeps one row per line for grep and logs.
    /// </summary>
    public static IAnsiConsole Console { get; } = Create();

    private static IAnsiConsole Create()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (System.Console.IsOutputRedirected)
        {
            console.Profile.Width = 240;
        }

        return console;
    }

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>How far a new backup was proven before its name: "verified", or the quick proof with the full check to follow.</summary>
    public static string Proven(Sidecar sidecar) => sidecar.Stage is 1 ? "verified (quick; the full check follows in the daemon, or cellar verify)" : "verified";

    public static string Age(TimeSpan? age) => age switch
    {
        null => "-",
        { TotalMinutes: < 1 } => "just now",
        { TotalHours: < 1 } a => $"{(int)a.TotalMinutes} min",
        { TotalDays: < 2 } a => $"{a.TotalHours:0.#} h",
        var a => $"{a.Value.TotalDays:0.#} d",
    };

    /// <summary>A moment to the millisecond, as <c>restore --at</c> takes it for a stream.</summary>
    public static string Instant(DateTimeOffset time, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(time, zone).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? time, TimeZoneInfo zone) =>
        time is { } t ? TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-";
}

namespace Cellar.Core.IO;

/// <summary>How busy the machine is, from <c>/proc/loadavg</c>: for work that should wait for a quiet moment.</summary>
public static class SystemLoad
{
    /// <summary>
    /// True when the one-minute load average is under half the cores (or cannot be read: then nothing can tell, and
    /// waiting for ever would be worse).
    /// </summary>
    public static bool Quiet() => OneMinute() is var load && (double.IsNaN(load) || load < Environment.ProcessorCount / 2.0);

    /// <summary>The one-minute load average; NaN when it cannot be read.</summary>
    public static double OneMinute()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : double.NaN;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }
}

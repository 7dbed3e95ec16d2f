using System.Text.RegularExpressions;

namespace Cellar.Bench;

/// <summary>
/// docs/BENCHMARKS.md is rewritten by each suite, but regions between <c>&lt;!-- keep:NAME:begin --&gt;</c> and
/// <c>&lt;!-- keep:NAME:end --&gt;</c> survive: the other suite's section and the hand-written analysis.
/// </summary>
internal static partial class ReportFile
{
    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/>, then appends the kept regions of the old file it lacks.</summary>
    public static async Task WriteKeepingAsync(string path, string report)
    {
        var old = File.Exists(path) ? await File.ReadAllTextAsync(path).ConfigureAwait(false) : "";
        var text = report;
        foreach (Match region in KeptRegion().Matches(old))
        {
            if (!text.Contains($"<!-- keep:{region.Groups["name"].Value}:begin -->", StringComparison.Ordinal))
            {
                text = text.TrimEnd('\n') + "\n\n" + region.Value + "\n";
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, text).ConfigureAwait(false);
    }

    /// <summary>Replaces the kept region <paramref name="name"/> of <paramref name="path"/> with <paramref name="content"/> (appended when absent).</summary>
    public static async Task SpliceAsync(string path, string name, string content)
    {
        var region = $"<!-- keep:{name}:begin -->\n{content.TrimEnd('\n')}\n<!-- keep:{name}:end -->";
        var old = File.Exists(path) ? await File.ReadAllTextAsync(path).ConfigureAwait(false) : "";
        var pattern = new Regex($"<!-- keep:{Regex.Escape(name)}:begin -->.*?<!-- keep:{Regex.Escape(name)}:end -->", RegexOptions.Singleline);
        var text = pattern.IsMatch(old) ? pattern.Replace(old, _ => region, 1) : old.TrimEnd('\n') + "\n\n" + region + "\n";
        await WriteKeepingAsync(path, text).ConfigureAwait(false);
    }

    [GeneratedRegex("<!-- keep:(?<name>[a-z-]+):begin -->.*?<!-- keep:\\k<name>:end -->", RegexOptions.Singleline)]
    private static partial Regex KeptRegion();
}

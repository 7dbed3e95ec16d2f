using System.Text.RegularExpressions;

namespace Cellar.Tests.Architecture;

/// <summary>
/// Which folder of a source tree uses which, read from the source: a folder uses another when one of its files names a
/// type declared there. Names count outside comments, strings and characters, not after a dot (a member, not a type),
/// and only names declared in one folder (a name in two would be a guess). Enough to see a cycle; not a compiler.
/// </summary>
internal static partial class FolderGraph
{
    /// <summary>For each folder under <paramref name="root"/> (relative, "." for the root), the folders it uses and why ("Type in File.cs").</summary>
    public static Dictionary<string, Dictionary<string, SortedSet<string>>> Read(string root)
    {
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Where(f => !f.StartsWith("obj/", StringComparison.Ordinal) && !f.StartsWith("bin/", StringComparison.Ordinal))
            .Select(f => (Name: f, Folder: Path.GetDirectoryName(f) is { Length: > 0 } d ? d : ".", Code: Code(File.ReadAllText(Path.Combine(root, f)))))
            .ToList();
        var owners = files
            .SelectMany(f => Declared().Matches(f.Code).Select(m => (Type: m.Groups[1].Value, f.Folder)))
            .GroupBy(t => t.Type)
            .Where(g => g.Select(t => t.Folder).Distinct().Count() == 1)
            .ToDictionary(g => g.Key, g => g.First().Folder, StringComparer.Ordinal);
        var graph = files.Select(f => f.Folder).Distinct().ToDictionary(f => f, _ => new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var name in Named().Matches(file.Code).Select(m => m.Value).Distinct())
            {
                if (owners.TryGetValue(name, out var owner) && owner != file.Folder)
                {
                    var uses = graph[file.Folder];
                    (uses.TryGetValue(owner, out var why) ? why : uses[owner] = new SortedSet<string>(StringComparer.Ordinal)).Add($"{name} in {file.Name}");
                }
            }
        }

        return graph;
    }

    /// <summary>A cycle of folders in <paramref name="graph"/>, as the steps around it ("A -> B (why)"), or null when there is none.</summary>
    public static IReadOnlyList<string>? FindCycle(Dictionary<string, Dictionary<string, SortedSet<string>>> graph)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (Visit(start) is { } cycle)
            {
                return cycle;
            }
        }

        return null;

        List<string>? Visit(string folder)
        {
            var onPath = path.IndexOf(folder);
            if (onPath >= 0)
            {
                var loop = path[onPath..].Append(folder).ToList();
                return [.. loop.Zip(loop.Skip(1), (a, b) => $"{a} -> {b} ({graph[a][b].First()})")];
            }

            if (!done.Add(folder))
            {
                return null;
            }

            path.Add(folder);
            foreach (var next in graph.GetValueOrDefault(folder)?.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>())
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }
    }

    private static string Code(string source) => Noise().Replace(source, " ");

    // Comments, raw, verbatim and plain strings, and characters, in one pass, so a "//" in a string is not a comment.
    [GeneratedRegex("""//[^\n]*|/\*[\s\S]*?\*/|""\"[\s\S]*?""\"|@"(?:""|[^"])*"|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])+'""")]
    private static partial Regex Noise();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+([A-Z]\w*)")]
    private static partial Regex Declared();

    [GeneratedRegex(@"(?<![.\w])[A-Z]\w*\b")]
    private static partial Regex Named();
}

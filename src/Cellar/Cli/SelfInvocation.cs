namespace Cellar.Cli;

/// <summary>
/// How to run this cellar again, the way it was run now, for the commands Cellar suggests: <c>dotnet run --project
/// src/Cellar --</c> from a build in the source tree (where <c>dotnet run</c> starts it), <c>dotnet PATH/cellar.dll</c>
/// through the dotnet host, else the binary itself (always for the native one, wherever it was published), by name
/// when <c>PATH</c> finds that very file. A JIT build has its <c>cellar.dll</c> beside it; the native binary has none
/// (<c>RuntimeFeature.IsDynamicCodeSupported</c> cannot tell: <c>PublishAot</c> turns it off in JIT builds as well).
/// </summary>
internal static class SelfInvocation
{
    private static readonly System.Buffers.SearchValues<char> ShellSpecial = System.Buffers.SearchValues.Create(" '\"$`\\*?;&|<>()#~");

    /// <summary>The command line that runs this process's cellar, from the current directory.</summary>
    public static string Current() =>
        Describe(Environment.ProcessPath ?? "cellar", AppContext.BaseDirectory, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PATH"));

    /// <summary>The command line that runs the cellar in <paramref name="appDirectory"/>, started as <paramref name="processPath"/>.</summary>
    public static string Describe(string processPath, string appDirectory, string currentDirectory, string? searchPath)
    {
        var dll = Path.Combine(appDirectory, "cellar.dll");
        var jit = File.Exists(dll);
        for (var folder = new DirectoryInfo(appDirectory); jit && folder?.Parent is { } parent; folder = parent)
        {
            if (folder.Name == "bin" && File.Exists(Path.Combine(parent.FullName, "Cellar.csproj")))
            {
                return $"dotnet run --project {Quoted(Shortest(parent.FullName, currentDirectory))} --";
            }
        }

        if (jit && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return $"dotnet {Quoted(Shortest(dll, currentDirectory))}";
        }

        var name = Path.GetFileName(processPath);
        var found = (searchPath ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        return found is not null && RealPath(found) == RealPath(processPath) ? name : Quoted(processPath);
    }

    /// <summary>The path as one shell word: single-quoted when it holds a character the shell would act on.</summary>
    public static string Quoted(string path) =>
        !path.AsSpan().ContainsAny(ShellSpecial) ? path : $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>The path relative to <paramref name="currentDirectory"/> when it lies below it (and that is not <c>/</c>), else absolute.</summary>
    private static string Shortest(string path, string currentDirectory) =>
        Path.GetRelativePath(currentDirectory, path) is var relative && !relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative)
            && Path.GetPathRoot(currentDirectory) != Path.GetFullPath(currentDirectory)
            ? relative
            : Path.GetFullPath(path);

    private static string RealPath(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
}

namespace Cellar.Core.IO;

/// <summary>The first of a sequence of candidate names that is not taken: how a new file avoids every existing one.</summary>
internal static class FreeName
{
    /// <summary>
    /// <paramref name="candidate"/>(0), (1), ... until one is not <paramref name="taken"/>. The candidates say how a
    /// collision is written (<c>-2</c>, <c>.2</c>), the test what counts as taken (a sidecar, a companion file).
    /// </summary>
    public static string First(Func<int, string> candidate, Func<string, bool> taken)
    {
        for (var collision = 0; ; collision++)
        {
            if (candidate(collision) is var name && !taken(name))
            {
                return name;
            }
        }
    }
}

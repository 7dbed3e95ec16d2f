using System.Globalization;
using System.Text;

namespace Cellar.Demo;

/// <summary>
/// Writes a request log shaped like a Node.js photo-portfolio backend's, so demos have a
/// growing, append-only text file to back up next to the database.
/// </summary>
public static class BackendLog
{
    // Weights mimic a read-heavy photo site: thumbnails and feeds dominate, writes are rare.
    private static readonly (string Method, string Route, int Weight, int TypicalMs)[] Routes =
    [
        ("GET", "/api/images/{id}/thumbnail", 30, 6),
        ("GET", "/api/feed", 14, 85),
        ("GET", "/api/images/{id}", 12, 18),
        ("GET", "/api/galleries/{id}", 9, 25),
        ("GET", "/api/galleries/{id}/images", 8, 40),
        ("GET", "/api/users/{id}", 6, 15),
        ("POST", "/api/images/{id}/likes", 5, 12),
        ("DELETE", "/api/images/{id}/likes", 1, 11),
        ("GET", "/api/images/{id}/comments", 4, 22),
        ("POST", "/api/images/{id}/comments", 2, 30),
        ("POST", "/api/comments/{id}/reactions", 2, 14),
        ("POST", "/api/users/{id}/follow", 1, 16),
        ("POST", "/api/galleries/{id}/images", 1, 450),
        ("PUT", "/api/users/{id}", 1, 28),
        ("POST", "/api/auth/login", 2, 120),
        ("GET", "/healthz", 2, 1),
    ];

    private static readonly int TotalWeight = Routes.Sum(static r => r.Weight);

    /// <summary>
    /// Appends <paramref name="lines"/> request lines to <paramref name="path"/>, creating it if
    /// needed, with timestamps advancing from <paramref name="start"/>.
    /// </summary>
    /// <param name="path">Log file; appended to if it exists.</param>
    /// <param name="lines">Number of request lines to write.</param>
    /// <param name="start">Timestamp of the first line.</param>
    /// <param name="cancellationToken">Stops writing between chunks.</param>
    public static async Task WriteAsync(string path, int lines, DateTimeOffset start, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(lines);

        // Seeded from the start time so a given call is reproducible, yet successive appends
        // with later start times don't repeat the same requests.
        var random = new Random((int)(start.UtcTicks ^ (start.UtcTicks >> 32)));
        bool needsLeadingNewline = EndsWithoutNewline(path);

        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            // No BOM: appending one mid-file would corrupt an existing log.
            var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            await using (writer.ConfigureAwait(false))
            {
                var chunk = new StringBuilder(128 * 1024);
                if (needsLeadingNewline)
                {
                    chunk.Append('\n');
                }

                DateTimeOffset timestamp = start.ToUniversalTime();
                for (int i = 0; i < lines; i++)
                {
                    AppendLine(chunk, random, timestamp);
                    // Bursty gaps, mostly sub-second, like real traffic.
                    timestamp = timestamp.AddMilliseconds(random.Next(4) == 0 ? random.Next(200, 5_000) : random.Next(1, 400));

                    // Chunking keeps async overhead per line negligible without holding the whole log in memory.
                    if (chunk.Length >= 120 * 1024)
                    {
                        await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                        chunk.Clear();
                    }
                }

                await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static void AppendLine(StringBuilder line, Random random, DateTimeOffset timestamp)
    {
        (string method, string route, _, int typicalMs) = PickRoute(random);
        int status = PickStatus(random, method, route);
        string level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";

        // Roughly log-normal latency: most requests near typical, a long slow tail, and failures slower still.
        double factor = Math.Exp((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 1.4);
        int ms = Math.Max(1, (int)(typicalMs * factor * (status >= 500 ? 8 : 1)));

        string concreteRoute = route.Replace("{id}", random.Next(1, 250_000).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        // Node's Date.toISOString() format, the usual first field of a backend log line.
        line.Append(CultureInfo.InvariantCulture, $"{timestamp:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {level,-5} {method} {concreteRoute} {status} {ms}ms\n");
    }

    private static (string Method, string Route, int Weight, int TypicalMs) PickRoute(Random random)
    {
        int roll = random.Next(TotalWeight);
        foreach ((string Method, string Route, int Weight, int TypicalMs) entry in Routes)
        {
            roll -= entry.Weight;
            if (roll < 0)
            {
                return entry;
            }
        }

        return Routes[^1];
    }

    private static int PickStatus(Random random, string method, string route)
    {
        int roll = random.Next(1000);
        return roll switch
        {
            < 3 => 503,
            < 8 => 500,
            < 20 => route.StartsWith("/api/auth", StringComparison.Ordinal) ? 401 : 404,
            < 28 => 403,
            < 33 => 429,
            < 40 => 400,
            // Browsers revalidate cached thumbnails, so a slice of GETs are 304s.
            < 140 when method == "GET" && route.EndsWith("/thumbnail", StringComparison.Ordinal) => 304,
            _ => method switch
            {
                "POST" => 201,
                "DELETE" => 204,
                _ => 200,
            },
        };
    }

    private static bool EndsWithoutNewline(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length == 0)
        {
            return false;
        }

        using FileStream stream = info.OpenRead();
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() != '\n';
    }
}

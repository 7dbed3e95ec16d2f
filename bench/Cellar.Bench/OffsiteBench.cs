using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cellar.Demo;
using Cellar.Core.IO;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Bench;

/// <summary>
/// Offsite copies against a real S3-compatible server on loopback (s3rver, as the tests use): for one backup of
/// each size, the same bytes written to local disk (fsynced) against a plain upload, an encrypted upload (both in
/// this process), and Cellar's whole offsite copy by the real CLI, <c>cellar sync</c> (check, encrypted upload,
/// sidecar, manifest, confirmation), with the requests the server answered for it. One unmeasured upload warms
/// up the SDK and the server first; then the three run in rounds, each round in a different order, so none is
/// always the first (or the one right after a large write) and the median of each is reported.
/// </summary>
internal sealed partial class OffsiteBench(string repo, string cellarDll, int? runs)
{
    private const string Destination = "bench";

    public async Task<List<OffsiteResult>> RunAsync(string workDir, IReadOnlyList<int> sizesMiB)
    {
        var results = new List<OffsiteResult>();
        var s3 = Path.Combine(repo, "tests", "s3server");
        if (!File.Exists(Path.Combine(s3, "node_modules", "s3rver", "bin", "s3rver.js")))
        {
            await Proc.RunCheckedAsync("npm", "ci", "--no-audit", "--no-fund", "--prefix", s3).ConfigureAwait(false);
        }

        foreach (var size in sizesMiB)
        {
            var dir = Directory.CreateDirectory(Path.Combine(workDir, $"offsite-{size}")).FullName;
            var db = Path.Combine(dir, "portfolio.sqlite");
            Bench.Log($"[offsite] generating a {size} MiB database");
            await PortfolioDatabase.CreateAsync(db, size * 1048576L, CancellationToken.None).ConfigureAwait(false);
            var configPath = Path.Combine(dir, "cellar.json");
            await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(Config(db, dir))).ConfigureAwait(false);
            var run = await Proc.RunAsync(Proc.DotnetHost(), [cellarDll, "--config", configPath, "run", "daily"]).ConfigureAwait(false);
            if (!run.Ok)
            {
                throw new InvalidOperationException($"cellar run daily failed: {run.Stderr}");
            }

            var backup = run.Stdout.Trim().Split('\n')[^1];
            results.Add(await MeasureAsync(dir, db, backup, size, s3).ConfigureAwait(false));
            Directory.Delete(dir, recursive: true);
        }

        return results;
    }

    /// <summary>The bench's config; with <paramref name="offsite"/>, a destination named <paramref name="destination"/> and an encryption key.</summary>
    private static Dictionary<string, object> Config(string db, string dir, string? destination = null, object? offsite = null)
    {
        var config = new Dictionary<string, object>
        {
            ["database"] = db,
            ["backupRoot"] = Path.Combine(dir, "backups"),
            ["logDir"] = dir,
            ["jobs"] = new Dictionary<string, object> { ["daily"] = new { type = "snapshot", folder = "daily", fileName = "portfolio-{yyyy}-{MM}-{dd}.sqlite" } },
        };
        if (offsite is not null)
        {
            config["encryptionKeyFile"] = Path.Combine(dir, "key");
            config["offsite"] = new Dictionary<string, object> { [destination!] = offsite };
        }

        return config;
    }

    private async Task<OffsiteResult> MeasureAsync(string dir, string db, string backup, int sizeMiB, string s3Folder)
    {
        var bytes = new FileInfo(backup).Length;
        using var server = await S3rver.StartAsync(dir, s3Folder).ConfigureAwait(false);
        var answered = server.Log;
        var credentials = server.CredentialsFile;
        {
            var keyFile = Path.Combine(dir, "key");
            await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // Cellar refuses secret files others can read
            }

            var key = EncryptionKey.FromFile(keyFile);
            var options = new S3Options { Bucket = "cellar", Endpoint = new Uri(server.Endpoint), ForcePathStyle = true, CredentialsFile = credentials };

            var disk = await TimeAsync(async () =>
            {
                await using var source = File.OpenRead(backup);
                await using var target = new FileStream(Path.Combine(dir, "copy"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
                await source.CopyToAsync(target).ConfigureAwait(false);
                Fsync.File(target); // the checked fsync Cellar uses, so the floor pays what Cellar pays
            }).ConfigureAwait(false);
            File.Delete(Path.Combine(dir, "copy"));

            using var store = new S3ObjectStore(options);
            async Task PlainAsync()
            {
                await using var source = File.OpenRead(backup);
                await store.PutAsync("plain", source, bytes, CancellationToken.None).ConfigureAwait(false);
            }

            async Task EncryptedAsync()
            {
                await using var source = File.OpenRead(backup);
                await using var cipher = new EncryptingStream(source, key);
                await store.PutAsync("encrypted", cipher, EncryptionFormat.EncryptedLength(bytes), CancellationToken.None).ConfigureAwait(false);
            }

            // Cellar's whole copy as an operator makes it, in a new process. Each time to a destination of its own (its
            // own ledger, its own prefix in the bucket), which lacks the backup; the config is written before the clock starts.
            var requests = new List<long>();
            var copies = 0;
            async Task<Func<Task>> CellarSyncAsync()
            {
                var name = $"{Destination}{++copies}";
                var offsiteConfig = Path.Combine(dir, $"cellar-{name}.json");
                await File.WriteAllTextAsync(offsiteConfig, JsonSerializer.Serialize(Config(db, dir, name, new
                {
                    bucket = options.Bucket,
                    prefix = name,
                    endpoint = options.Endpoint.ToString(),
                    forcePathStyle = true,
                    credentialsFile = credentials,
                }))).ConfigureAwait(false);
                return () => SyncAsync(offsiteConfig, name);
            }

            async Task SyncAsync(string offsiteConfig, string name)
            {
                var before = answered.Count;
                var sync = await Proc.RunAsync(Proc.DotnetHost(), [cellarDll, "--config", offsiteConfig, "sync", "--dest", name]).ConfigureAwait(false);
                Bench.Require(sync, "cellar sync");
                if (!sync.Stderr.Contains(": 1 uploaded", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"cellar sync uploaded nothing: {sync.Stderr}");
                }

                await answered.SettleAsync().ConfigureAwait(false);
                requests.Add(answered.Count - before);
            }

            await PlainAsync().ConfigureAwait(false); // warm-up, not measured
            (string Name, Func<Task<Func<Task>>> Prepare)[] kinds =
            [
                ("upload", () => Task.FromResult<Func<Task>>(PlainAsync)),
                ("encrypted upload", () => Task.FromResult<Func<Task>>(EncryptedAsync)),
                ("cellar sync", CellarSyncAsync),
            ];
            var seconds = kinds.ToDictionary(k => k.Name, _ => new List<double>());
            var rounds = runs ?? 3;
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < kinds.Length; i++)
                {
                    var (name, prepare) = kinds[(i + round) % kinds.Length];
                    var action = await prepare().ConfigureAwait(false);
                    await Proc.SyncAsync().ConfigureAwait(false);
                    var elapsed = await TimeAsync(action).ConfigureAwait(false);
                    seconds[name].Add(elapsed);
                    Bench.Log(FormattableString.Invariant($"[offsite] {sizeMiB} MiB db, round {round + 1}: {name} {elapsed:0.00} s"));
                }
            }

            var parts = (int)Math.Ceiling(EncryptionFormat.EncryptedLength(bytes) / (double)options.PartSizeBytes);
            return new OffsiteResult(sizeMiB, bytes, rounds, disk, Median(seconds["upload"]), Median(seconds["encrypted upload"]), Median(seconds["cellar sync"]), requests.Max(), parts);
        }
    }

    /// <summary>The middle value (the lower of the two middle ones of an even count).</summary>
    internal static double Median(IEnumerable<double> values) => values.Order().ElementAt((values.Count() - 1) / 2);

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        await action().ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    internal static async Task WaitForPortAsync(int port, Process server)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port).ConfigureAwait(false);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (waited.Elapsed < TimeSpan.FromSeconds(30) && !server.HasExited)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    internal static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Counts the responses s3rver logs (one line per answered request, retries included).</summary>
    internal sealed partial class ServerLog
    {
        private readonly List<string> _responses = [];
        private long _lines;

        public ServerLog(Process server)
        {
            _ = server.StandardError.ReadToEndAsync();
            _ = Task.Run(async () =>
            {
                while (await server.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
                {
                    if (Response().IsMatch(line))
                    {
                        lock (_responses)
                        {
                            _responses.Add(line);
                        }
                    }

                    Interlocked.Increment(ref _lines);
                }
            });
        }

        public long Count
        {
            get
            {
                lock (_responses)
                {
                    return _responses.Count;
                }
            }
        }

        /// <summary>The response lines from the <paramref name="first"/>-th on (as counted by <see cref="Count"/>) to <paramref name="end"/>.</summary>
        public IReadOnlyList<string> Responses(long first, long end)
        {
            lock (_responses)
            {
                return _responses[(int)first..(int)Math.Min(end, _responses.Count)];
            }
        }

        /// <summary>Waits until the server's log has been quiet for a moment, so every answered request is counted.</summary>
        public async Task SettleAsync()
        {
            var last = -1L;
            while (Interlocked.Read(ref _lines) != last)
            {
                last = Interlocked.Read(ref _lines);
                await Task.Delay(200).ConfigureAwait(false);
            }
        }

        // koa-logger's response line, as s3rver prints it: "info: PATH STATUS TIMEms SIZE".
        [GeneratedRegex(@"info\S*: \S* \d{3} \d+(\.\d+)?m?s ")]
        private static partial Regex Response();
    }
}

/// <summary>One backup's offsite copy, timed every way (medians over <paramref name="Runs"/> rounds).</summary>
internal sealed record OffsiteResult(int DbMiB, long BackupBytes, int Runs, double DiskSeconds, double UploadSeconds, double EncryptedSeconds, double CopySeconds, long Requests, int Parts)
{
    public static string ToMarkdown(IReadOnlyList<OffsiteResult> results, BenchOptions options, Machine machine, DateTimeOffset started) => Report.Section(
        "Offsite copies",
        "One gzip backup per database size, copied to s3rver on 127.0.0.1 (the S3-compatible server the tests use; Node.js, one process) with 16 MiB parts: the same bytes written to local disk and fsynced, uploaded plain and uploaded encrypted (AES-256-GCM chunks) by the bench process through Cellar's S3 store, and Cellar's whole offsite copy by the real CLI, `cellar sync` (the local file hashed against its sidecar, the encrypted upload with every part's MD5 checked against its ETag, the sidecar, the manifest, and the HEAD requests that confirm both). `cellar sync` is a new process each time, so its time includes .NET start-up and a cold AWS SDK, which the in-process uploads do not pay: one unmeasured upload warms them up first. The three then run in rounds, each round in a different order; times are the medians. Requests are those s3rver answered for one `cellar sync` (the most of any round), retries included.",
        options,
        machine,
        started,
        "| database | backup | rounds | local disk | upload | encrypted upload | `cellar sync` | upload vs disk | requests (parts) |",
        results.Select(r => FormattableString.Invariant(
            $"| {r.DbMiB} MiB | {Report.MiB(r.BackupBytes)} | {r.Runs} | {r.DiskSeconds:0.00} s ({Rate(r.BackupBytes, r.DiskSeconds)}) | {r.UploadSeconds:0.00} s ({Rate(r.BackupBytes, r.UploadSeconds)}) | {r.EncryptedSeconds:0.00} s ({Rate(r.BackupBytes, r.EncryptedSeconds)}) | {r.CopySeconds:0.00} s ({Rate(r.BackupBytes, r.CopySeconds)}) | {r.DiskSeconds / r.UploadSeconds:0.00}x | {r.Requests} ({r.Parts}) |")));

    private static string Rate(long bytes, double seconds) => FormattableString.Invariant($"{bytes / 1048576.0 / seconds:0} MiB/s");
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cellar.Core.Catalog;
using Cellar.Core.Configuration;
using Cellar.Core.Demo;
using Cellar.Core.Offsite;
using Cellar.Core.Storage;
using Cellar.Core.Storage.Encryption;

namespace Cellar.Bench;

/// <summary>
/// Offsite copies against a real S3-compatible server on loopback (s3rver, as the tests use): for one backup of
/// each size, the same bytes written to local disk (fsynced) against a plain upload, an encrypted upload, and
/// Cellar's whole offsite copy (check, encrypted upload, sidecar, confirmation), with the requests each needs.
/// </summary>
internal sealed class OffsiteBench(string repo, string cellarDll)
{
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
            await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(new
            {
                database = db,
                backupRoot = Path.Combine(dir, "backups"),
                logDir = dir,
                jobs = new Dictionary<string, object> { ["daily"] = new { type = "snapshot", folder = "daily", fileName = "portfolio-{yyyy}-{MM}-{dd}.sqlite" } },
            })).ConfigureAwait(false);
            var run = await Proc.RunAsync(Proc.DotnetHost(), [cellarDll, "--config", configPath, "run", "daily"]).ConfigureAwait(false);
            if (!run.Ok)
            {
                throw new InvalidOperationException($"cellar run daily failed: {run.Stderr}");
            }

            var backup = run.Stdout.Trim().Split('\n')[^1];
            results.Add(await MeasureAsync(dir, configPath, backup, size, s3).ConfigureAwait(false));
            Directory.Delete(dir, recursive: true);
        }

        return results;
    }

    private static async Task<OffsiteResult> MeasureAsync(string dir, string configPath, string backup, int sizeMiB, string s3Folder)
    {
        var bytes = new FileInfo(backup).Length;
        var port = FreePort();
        var data = Directory.CreateDirectory(Path.Combine(dir, "s3")).FullName;
        using var server = Process.Start(Proc.StartInfo("node", [Path.Combine(s3Folder, "node_modules", "s3rver", "bin", "s3rver.js"), "-d", data, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "--silent", "--configure-bucket", "cellar"], redirectStdin: false))!;
        try
        {
            await Task.Delay(1500).ConfigureAwait(false);
            var credentials = Path.Combine(dir, "credentials");
            await File.WriteAllTextAsync(credentials, "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n").ConfigureAwait(false);
            var options = new S3Options { Bucket = "cellar", Endpoint = new Uri($"http://127.0.0.1:{port}"), ForcePathStyle = true, CredentialsFile = credentials };
            var keyFile = Path.Combine(dir, "key");
            await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            var key = EncryptionKey.FromFile(keyFile);

            var disk = await TimeAsync(async () =>
            {
                await using var source = File.OpenRead(backup);
                await using var target = new FileStream(Path.Combine(dir, "copy"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
                await source.CopyToAsync(target).ConfigureAwait(false);
                target.Flush(flushToDisk: true);
            }).ConfigureAwait(false);
            File.Delete(Path.Combine(dir, "copy"));

            using var store = new S3ObjectStore(options);
            var plain = await TimeAsync(async () =>
            {
                await using var source = File.OpenRead(backup);
                await store.PutAsync("plain", source, bytes, CancellationToken.None).ConfigureAwait(false);
            }).ConfigureAwait(false);
            var encrypted = await TimeAsync(async () =>
            {
                await using var source = File.OpenRead(backup);
                await using var cipher = new EncryptingStream(source, key);
                await store.PutAsync("encrypted", cipher, EncryptionFormat.EncryptedLength(bytes), CancellationToken.None).ConfigureAwait(false);
            }).ConfigureAwait(false);

            // Cellar's whole copy, as `cellar sync` makes it, counted in requests.
            var config = ConfigLoader.Load(configPath);
            var job = config.FindJob("daily");
            var entry = BackupCatalog.List(job, config.TimeZone).Single();
            using var counted = new S3ObjectStore(options);
            var copier = new OffsiteCopier(counted, new OffsiteDestination("bench") { S3 = options, Encrypt = true }, new KeyRing(key, []), TimeProvider.System);
            var whole = await TimeAsync(() => copier.CopyAsync(job, entry, CancellationToken.None)).ConfigureAwait(false);
            var parts = (int)Math.Ceiling(EncryptionFormat.EncryptedLength(bytes) / (double)options.PartSizeBytes);
            Bench.Log(FormattableString.Invariant($"[offsite] {sizeMiB} MiB db, {Report.MiB(bytes)} backup: disk {disk:0.00} s, upload {plain:0.00} s, encrypted {encrypted:0.00} s, cellar copy {whole:0.00} s, {counted.Requests} requests"));
            return new OffsiteResult(sizeMiB, bytes, disk, plain, encrypted, whole, counted.Requests, parts);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        await action().ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>One backup's offsite copy, timed every way.</summary>
internal sealed record OffsiteResult(int DbMiB, long BackupBytes, double DiskSeconds, double UploadSeconds, double EncryptedSeconds, double CopySeconds, long Requests, int Parts)
{
    public static string ToMarkdown(IReadOnlyList<OffsiteResult> results, BenchOptions options, Machine machine, DateTimeOffset started) => Report.Section(
        "Offsite copies",
        "One gzip backup per database size, copied to s3rver on 127.0.0.1 (the S3-compatible server the tests use; Node.js, one process) with 16 MiB parts: the same bytes written to local disk and fsynced, uploaded plain, uploaded encrypted (AES-256-GCM chunks), and Cellar's whole offsite copy (the local file hashed against its sidecar, the encrypted upload with every part's MD5 checked against its ETag, the sidecar, and the HEAD requests that confirm both). Requests are counted by the store, retries included.",
        options,
        machine,
        started,
        "| database | backup | local disk | upload | encrypted upload | Cellar's copy | upload vs disk | requests (parts) |",
        results.Select(r => FormattableString.Invariant(
            $"| {r.DbMiB} MiB | {Report.MiB(r.BackupBytes)} | {r.DiskSeconds:0.00} s ({Rate(r.BackupBytes, r.DiskSeconds)}) | {r.UploadSeconds:0.00} s ({Rate(r.BackupBytes, r.UploadSeconds)}) | {r.EncryptedSeconds:0.00} s ({Rate(r.BackupBytes, r.EncryptedSeconds)}) | {r.CopySeconds:0.00} s ({Rate(r.BackupBytes, r.CopySeconds)}) | {r.DiskSeconds / r.UploadSeconds:0.00}x | {r.Requests} ({r.Parts}) |")));

    private static string Rate(long bytes, double seconds) => FormattableString.Invariant($"{bytes / 1048576.0 / seconds:0} MiB/s");
}

using System.Text;
using Cellar.Core.Catalog;
using Cellar.Core.Replication;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// The stream's drill: the newest point rebuilt from the stream must equal the live database at that very transaction,
/// page for page, under a writer; and a stream that restores something the app never had (a base whose checksums all
/// agree but whose content was changed) is caught, which no checksum would.
/// </summary>
public sealed class StreamDrillTests
{
    [Fact]
    public async Task The_drill_proves_the_stream_against_the_live_database_under_a_writer()
    {
        using var sandbox = new StreamSandbox();
        var ct = TestContext.Current.CancellationToken;
        var writer = await LoadWriterProcess.StartAsync(sandbox.Database, "wal", 200, ct);
        var (stop, following) = sandbox.Follow();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
            var result = await StreamDrill.RunAsync(sandbox.Job, TimeProvider.System, TimeZoneInfo.Utc, NullLoggerFactory.Instance, ct);
            Assert.True(result.Ok, result.Problem);
        }
        finally
        {
            await writer.StopAsync(ct);
            await writer.DisposeAsync();
            await stop.CancelAsync();
            await following;
        }
    }

    [Fact]
    public async Task A_base_changed_behind_its_checksums_fails_cellar_verify()
    {
        using var sandbox = new StreamSandbox();
        using (var app = new SqliteConnection($"Data Source={sandbox.Database};Pooling=False"))
        {
            app.Open();
            using var setup = app.CreateCommand();
            setup.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE note(body TEXT); INSERT INTO note VALUES ('paid: 100 EUR')";
            setup.ExecuteNonQuery();
            var run = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "run", "live");
            Assert.True(run.ExitCode == 0, run.ToString());

            // The base says 900 where the app wrote 100; its sidecar's checksum and size are made to agree.
            var image = StreamHistory.Bases(Generation.List(sandbox.Job.Folder)[^1])[0];
            var codec = Core.Compression.Codec.For(Core.Compression.CompressionKind.Zstd);
            byte[] expanded;
            using (var input = codec.OpenRead(File.OpenRead(image.Path)))
            using (var buffer = new MemoryStream())
            {
                input.CopyTo(buffer);
                expanded = buffer.ToArray();
            }

            var at = expanded.AsSpan().IndexOf("paid: 100"u8);
            Assert.True(at > 0);
            Encoding.ASCII.GetBytes("paid: 900").CopyTo(expanded, at);
            var stored = codec.CompressBlock(expanded, out var length);
            await File.WriteAllBytesAsync(image.Path, stored.AsMemory(0, length).ToArray(), TestContext.Current.CancellationToken);
            File.Delete(Sidecar.PathFor(image.Path));
            (image.Sidecar with { Sha256 = CliSandbox.HashOf(image.Path), SizeBytes = length }).Write(image.Path);

            var verify = await CliSandbox.CellarWithConfigAsync(sandbox.ConfigPath, "verify", "live");
            Assert.True(verify.ExitCode == 1, verify.ToString());
            Assert.Contains("differs from the live database", verify.Stderr);
        }
    }
}

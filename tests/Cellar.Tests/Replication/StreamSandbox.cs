using System.Text.Json;
using System.Text.Json.Nodes;
using Cellar.Core.Configuration;
using Cellar.Core.Replication;
using Cellar.Core.Restore;
using Cellar.Core.Sqlite;
using Cellar.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cellar.Tests.Replication;

/// <summary>A database folder, a backup root and a config with one stream job <c>live</c>; the follower runs in the test process.</summary>
internal sealed class StreamSandbox : IDisposable
{
    private readonly TempFolder _temp = new();

    public StreamSandbox()
    {
        Directory.CreateDirectory(_temp.Combine("data"));
        var config = new JsonObject
        {
            ["database"] = Database,
            ["backupRoot"] = _temp.Combine("backups"),
            ["logDir"] = _temp.Combine("logs"),
            ["timeZone"] = "UTC",
            ["jobs"] = new JsonObject { ["live"] = new JsonObject { ["type"] = "stream", ["folder"] = "stream" } },
        };
        File.WriteAllText(ConfigPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public string Database => _temp.Combine("data", "app.sqlite");

    /// <summary>What the follower logged.</summary>
    public LogRecorder Log { get; } = new();

    public string ConfigPath => _temp.Combine("cellar.json");

    public StreamJob Job => (StreamJob)ConfigLoader.Load(ConfigPath).FindJob("live");

    public string Combine(params string[] parts) => _temp.Combine(parts);

    /// <summary>Follows the database in the background until the returned source is cancelled; the task ends with the follower.</summary>
    public (CancellationTokenSource Stop, Task Following) Follow()
    {
        var stop = new CancellationTokenSource();
        var job = Job;
        var loggers = new Microsoft.Extensions.Logging.LoggerFactory([Log]);
        var following = Task.Run(() => new StreamRunner(TimeProvider.System, TimeZoneInfo.Utc, loggers).FollowAsync(job, null, stop.Token));
        return (stop, following);
    }

    /// <summary>Restores the stream (at <paramref name="at"/>, or its newest point) into a new file and returns its path.</summary>
    public async Task<string> RestoreAsync(DateTimeOffset? at = null, string? name = null)
    {
        var target = Combine(name ?? $"restored-{Guid.NewGuid():N}.sqlite");
        var service = new RestoreService(TimeProvider.System, TimeZoneInfo.Utc, NullLogger<RestoreService>.Instance);
        await service.RestoreStreamAsync(Job, at, target, force: false, progress: null, CancellationToken.None);
        return target;
    }

    /// <summary>Waits (with a deadline) until the newest point of the stream holds parent <paramref name="lastN"/>.</summary>
    public async Task WaitForShippedAsync(long lastN, CancellationToken ct)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            // Until the follower's first base is written there is nothing to restore yet.
            var restored = Cellar.Core.Replication.StreamCatalog.List(Job).Count == 0 ? -1 : ParentsIn(await RestoreAsync());
            if (restored == lastN)
            {
                return;
            }

            Xunit.Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"the stream holds {restored} of {lastN} parents after 20 s");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>The parents the load writer committed that <paramref name="path"/> holds: n = 1..count, or a failure.</summary>
    public static long ParentsIn(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), COALESCE(MIN(n), 1), COALESCE(MAX(n), 0), (SELECT count(*) FROM child) FROM parent";
        using var row = command.ExecuteReader();
        row.Read();
        var (count, min, max, children) = (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2), row.GetInt64(3));
        Xunit.Assert.True(min == 1 && max == count && children == count, $"{path} holds parents {min}..{max} ({count}) and {children} children: not one committed prefix");
        return count;
    }

    /// <summary>Copies the stream to <paramref name="server"/> as destination <c>spaces</c>, with a fresh key (so its objects are sealed).</summary>
    public async Task AddOffsiteAsync(Support.S3Server server, CancellationToken ct)
    {
        var key = Combine("offsite.key");
        Offsite.OffsiteSandbox.WriteKey(key);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(ConfigPath, ct))!;
        config["encryptionKeyFile"] = key;
        config["offsite"] = new JsonObject
        {
            ["spaces"] = new JsonObject
            {
                ["type"] = "s3",
                ["bucket"] = Support.S3Server.Bucket,
                ["prefix"] = "cellar",
                ["endpoint"] = server.Endpoint.AbsoluteUri,
                ["forcePathStyle"] = true,
                ["credentialsFile"] = server.CredentialsFile,
                ["retries"] = 1,
            },
        };
        await File.WriteAllTextAsync(ConfigPath, config.ToJsonString(), ct);
    }

    /// <summary>An idle connection of the app's, in WAL mode, held open as a running app holds one (so no writer that stops is the last to close the database, and deletes the WAL).</summary>
    public SqliteConnection OpenApp()
    {
        var app = new SqliteConnection($"Data Source={Database};Pooling=False");
        app.Open();
        using var command = app.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL";
        command.ExecuteNonQuery();

        // A read opens the WAL (a connection that never read holds nothing).
        command.CommandText = "SELECT count(*) FROM sqlite_schema";
        command.ExecuteScalar();
        return app;
    }

    /// <summary>
    /// Another tool's restore: a copy of the database with a table of its own (<c>replaced</c>, one row), put in place
    /// with the old companions (if any) moved aside. The app's connections must be closed.
    /// </summary>
    public void ReplaceDatabase()
    {
        var copy = Combine("data", "copy.sqlite");
        using (var app = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            app.Open();
            app.Execute($"VACUUM INTO '{copy}'");
        }

        using (var other = new SqliteConnection($"Data Source={copy};Pooling=False"))
        {
            other.Open();
            other.Execute("PRAGMA journal_mode=WAL; CREATE TABLE replaced(x); INSERT INTO replaced VALUES (1)");
        }

        foreach (var companion in new[] { "-wal", "-shm" }.Where(c => File.Exists(Database + c)))
        {
            File.Move(Database + companion, Combine("data", "old" + companion));
        }

        File.Move(copy, Database, overwrite: true);
    }

    /// <summary>Lets <c>cellar serve</c> listen on a free loopback port.</summary>
    public async Task ListenAsync(CancellationToken ct)
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(ConfigPath, ct))!;
        config["listen"] = "http://127.0.0.1:0";
        await File.WriteAllTextAsync(ConfigPath, config.ToJsonString(), ct);
    }

    /// <summary>Rows of <paramref name="table"/> in the database at <paramref name="path"/>.</summary>
    public static long Rows(string path, string table)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT count(*) FROM {table}";
        return (long)count.ExecuteScalar()!;
    }

    /// <summary>Runs <c>cellar restore --latest live</c>, which must fail in one line saying <paramref name="why"/> and write nothing.</summary>
    public async Task AssertRestoreRefusedAsync(string why)
    {
        var target = Combine("restored.sqlite");
        var run = await Cli.CliSandbox.CellarWithConfigAsync(ConfigPath, "restore", "--latest", "live", "--to", target);
        Cli.CliSandbox.AssertOneLineError(run, 1, why);
        Xunit.Assert.False(File.Exists(target));
    }

    public void Dispose() => _temp.Dispose();
}

using System.Security.Cryptography;
using Cellar.Core.Replication;
using Cellar.Core.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>An app's database of rows of 400 random bytes (2000 unless told; about 220 pages per 1000), followed in this process on a fake clock.</summary>
internal sealed class FollowedApp : IDisposable
{
    private readonly SqliteConnection _app;
    private readonly Random _random = new(7);
    private readonly int _rows;

    public FollowedApp(int rows = 2000)
    {
        _rows = rows;
        _app = Sandbox.OpenApp();
        Execute(CreateItems(rows));
        Follower = NewFollower();
        Follower.StepAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
    }

    public StreamSandbox Sandbox { get; } = new();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));

    public WalFollower Follower { get; private set; }

    public Generation Generation => Generation.List(Sandbox.Job.Folder)[^1];

    /// <summary>
    /// A day: an hour after the last base the app changes <paramref name="changes"/> rows and the follower ships them,
    /// then the day passes and its base is written (at the clock's time when this returns).
    /// </summary>
    public async Task DayAsync(int changes)
    {
        var ct = TestContext.Current.CancellationToken;
        Clock.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < changes; i++)
        {
            Execute($"UPDATE item SET body = randomblob(400) WHERE id = {_random.Next(1, _rows + 1)}");
        }

        await Follower.StepAsync(ct);
        Clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromHours(1));
        await Follower.StepAsync(ct);
        Follower.WaitForBackground();
        Follower.Seal(ct);
    }

    public void Execute(string sql) => _app.Execute(sql);

    /// <summary>The app's table, <paramref name="rows"/> rows of 400 random bytes.</summary>
    public static string CreateItems(int rows) =>
        $"CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) INSERT INTO item(body) SELECT randomblob(400) FROM n";

    /// <summary>Cellar stopped and started again: a new follower goes on with the generation.</summary>
    public async Task RestartFollowerAsync()
    {
        Follower.Dispose();
        Follower = NewFollower();
        await Follower.StepAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The app's rows, hashed.</summary>
    public string Digest() => Digest(Sandbox.Database);

    public static string Digest(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT id, body FROM item ORDER BY id";
        using var rows = read.ExecuteReader();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        while (rows.Read())
        {
            hash.AppendData(BitConverter.GetBytes(rows.GetInt64(0)));
            hash.AppendData((byte[])rows[1]);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private WalFollower NewFollower() => new(Sandbox.Job, Clock, TimeZoneInfo.Utc, new Microsoft.Extensions.Logging.LoggerFactory([Sandbox.Log]).CreateLogger("follower"));

    public void Dispose()
    {
        Follower.Dispose();
        _app.Dispose();
        Sandbox.Dispose();
    }
}

using System.Buffers.Binary;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Cellar.LoadWriter;

/// <summary>
/// Plays "the app": keeps committing small transactions to a SQLite database while Cellar backs it up.
/// <para>
/// Usage: <c>dotnet Cellar.LoadWriter.dll --db PATH [--journal wal|delete] [--rate N] [--duration SECONDS]
/// [--busy-timeout MS] [--payload BYTES]</c>; <c>--help</c> describes them.
/// </para>
/// <para>
/// Every commit is one <c>BEGIN IMMEDIATE … COMMIT</c> that inserts the next number n into <c>parent</c> and one
/// <c>child</c> row pointing at it, so any consistent snapshot holds exactly parents 1..k and children 1..k. A child's
/// payload (random bytes) starts with the time of its commit's start (Unix milliseconds, little-endian) when it has room.
/// Prints <c>ready</c> after the first commit, and on exit one JSON line with the commit count and latencies.
/// Without <c>--duration</c> it runs until stdin is closed or SIGTERM/SIGINT arrives.
/// </para>
/// </summary>
/// <remarks>Over 300 lines on purpose: a whole small program (its arguments, the writer loop, its own checks) that plays the app, read at once.</remarks>
internal static class Program
{
    private const int ExitOk = 0;
    private const int ExitFailed = 1;
    private const int ExitUsage = 2;

    /// <summary>How many missed rate slots (in time) the writer may catch up on after a stall.</summary>
    private static readonly TimeSpan MaxCatchUp = TimeSpan.FromMilliseconds(100);

    private static readonly CancellationTokenSource Stop = new();

    private static int Main(string[] args)
    {
        var root = new RootCommand("Plays the app: commits small transactions to a SQLite database until stopped") { LogWriter.Create() };
        Options.AddTo(root);
        root.SetAction(parse => Write(Options.From(parse)));

        // Paths are taken as given: one starting with @ is not a response file to expand.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            Command command = parsed.CommandResult.Command;
            string program = command == root ? "Cellar.LoadWriter" : $"Cellar.LoadWriter {command.Name}";
            foreach (ParseError error in parsed.Errors)
            {
                Console.Error.WriteLine($"{program}: {error.Message}");
            }

            return ExitUsage;
        }

        // An unexpected exception ends the writer with its stack trace, for the test that started it to show.
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>Commits until the duration is over or a stop arrives; prints the run's figures as one JSON line.</summary>
    private static int Write(Options options)
    {
        // Stop after the current commit on SIGTERM/SIGINT instead of dying mid-transaction.
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        if (options.Duration is { } duration)
        {
            Stop.CancelAfter(duration);
        }
        else
        {
            StartStdinWatcher();
        }

        var stats = new RunStats();
        int exitCode = ExitOk;
        try
        {
            Run(options, stats);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or InvalidOperationException)
        {
            Console.Error.WriteLine($"Cellar.LoadWriter: {ex.Message}");
            exitCode = ExitFailed;
        }

        Console.Out.WriteLine(stats.ToJson());
        Console.Out.Flush();
        return exitCode;
    }

    private static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Stop.Cancel();
    }

    /// <summary>Stops the run when stdin reaches end of file (the parent closed the pipe or died).</summary>
    private static void StartStdinWatcher()
    {
        var thread = new Thread(static () =>
        {
            try
            {
                using Stream stdin = Console.OpenStandardInput();
                byte[] buffer = new byte[256];
                while (stdin.Read(buffer) > 0)
                {
                    // Input is ignored; only end of file matters.
                }
            }
            catch (IOException)
            {
                // A broken stdin counts as closed.
            }

            Stop.Cancel();
        })
        {
            IsBackground = true,
            Name = "stdin-watcher",
        };
        thread.Start();
    }

    private static void Run(Options options, RunStats stats)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = options.DbPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            // Busy waits are left to SQLite's own handler (PRAGMA busy_timeout below). BEGIN/COMMIT go through
            // sqlite3_exec, which bypasses Microsoft.Data.Sqlite's 150 ms sleep-and-retry loop; this only bounds
            // that loop for the INSERTs, which cannot normally be busy inside an IMMEDIATE transaction.
            DefaultTimeout = 1,
        };

        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        sqlite3 db = connection.Handle!;

        Execute(connection, $"PRAGMA busy_timeout = {options.BusyTimeoutMs.ToString(CultureInfo.InvariantCulture)}");
        Execute(connection, "PRAGMA foreign_keys = ON");
        SetJournalMode(connection, options.Journal);

        Exec(db, """
            BEGIN IMMEDIATE;
            CREATE TABLE IF NOT EXISTS parent(id INTEGER PRIMARY KEY, n INTEGER NOT NULL UNIQUE);
            CREATE TABLE IF NOT EXISTS child(
                id INTEGER PRIMARY KEY,
                parent_id INTEGER NOT NULL REFERENCES parent(id),
                n INTEGER NOT NULL,
                payload BLOB);
            COMMIT;
            """);

        long n;
        using (SqliteCommand max = connection.CreateCommand())
        {
            max.CommandText = "SELECT COALESCE(MAX(n), 0) FROM parent";
            n = Convert.ToInt64(max.ExecuteScalar(), CultureInfo.InvariantCulture) + 1;
        }

        using SqliteCommand insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO parent(n) VALUES ($n);
            INSERT INTO child(parent_id, n, payload) VALUES (last_insert_rowid(), $n, $payload);
            """;
        SqliteParameter nParam = insert.Parameters.Add("$n", SqliteType.Integer);
        SqliteParameter payloadParam = insert.Parameters.Add("$payload", SqliteType.Blob);
        byte[] payload = new byte[options.PayloadBytes];
        payloadParam.Value = payload;
        nParam.Value = n;
        insert.Prepare();

        // The first commit (JIT, page cache, journal/WAL file creation) is a warm-up: it counts in commits and lastN
        // and triggers "ready", but stays out of the latency figures, the schedule and elapsedS.
        CancellationToken stop = Stop.Token;
        while (!CommitOnce(db, insert, payload, nParam, n, stats, recordLatency: false))
        {
            if (stop.IsCancellationRequested)
            {
                return;
            }
        }

        n++;
        Console.Out.WriteLine("ready");
        Console.Out.Flush();

        var schedule = options.Rate > 0 ? new Schedule(options.Rate) : null;
        long runStart = Stopwatch.GetTimestamp();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (schedule is not null && !schedule.WaitForNextSlot(stop))
                {
                    break;
                }

                if (CommitOnce(db, insert, payload, nParam, n, stats, recordLatency: true))
                {
                    n++;
                }
            }
        }
        finally
        {
            stats.Elapsed = Stopwatch.GetElapsedTime(runStart);
        }
    }

    /// <summary>Commits row n (true), or counts a busy error (false).</summary>
    private static bool CommitOnce(
        sqlite3 db, SqliteCommand insert, byte[] payload, SqliteParameter nParam, long n, RunStats stats, bool recordLatency)
    {
        RandomNumberGenerator.Fill(payload);
        if (payload.Length >= sizeof(long))
        {
            // Taken before BEGIN, so never later than the commit: a point-in-time restore is checked against it.
            BinaryPrimitives.WriteInt64LittleEndian(payload, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        }

        nParam.Value = n;

        long started = Stopwatch.GetTimestamp();
        bool committed = TryCommit(db, insert);
        long finished = Stopwatch.GetTimestamp();

        if (!committed)
        {
            stats.BusyErrors++;
            return false;
        }

        if (recordLatency)
        {
            stats.Latencies.Record(Stopwatch.GetElapsedTime(started, finished));
        }

        stats.Commits++;
        stats.LastN = n;
        return true;
    }

    /// <summary>
    /// Runs one commit. Returns false when SQLite stayed busy past the busy timeout (the transaction is rolled back
    /// and nothing was written); throws on any other error.
    /// </summary>
    private static bool TryCommit(sqlite3 db, SqliteCommand insert)
    {
        int rc = raw.sqlite3_exec(db, "BEGIN IMMEDIATE");
        if (IsBusy(rc))
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(rc, db);

        try
        {
            insert.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (IsBusy(ex.SqliteErrorCode))
        {
            Rollback(db);
            return false;
        }
        catch
        {
            Rollback(db);
            throw;
        }

        rc = raw.sqlite3_exec(db, "COMMIT");
        if (rc == raw.SQLITE_OK)
        {
            return true;
        }

        // A failed COMMIT (e.g. busy waiting for readers to leave in rollback-journal mode) keeps the transaction open.
        Rollback(db);
        if (IsBusy(rc))
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(rc, db);
        return false;
    }

    private static bool IsBusy(int rc) => (rc & 0xFF) == raw.SQLITE_BUSY;

    private static void Rollback(sqlite3 db)
    {
        if (raw.sqlite3_get_autocommit(db) == 0)
        {
            _ = raw.sqlite3_exec(db, "ROLLBACK");
        }
    }

    private static void Exec(sqlite3 db, string sql)
    {
        int rc = raw.sqlite3_exec(db, sql);
        if (rc != raw.SQLITE_OK)
        {
            Rollback(db);
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void SetJournalMode(SqliteConnection connection, string journal)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"PRAGMA journal_mode = {journal}";
        string? actual = command.ExecuteScalar() as string;
        if (!string.Equals(actual, journal, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"journal_mode is '{actual}', could not switch it to '{journal}'.");
        }
    }

    /// <summary>A fixed-rate schedule on the Stopwatch clock: slot i is due at start + i/rate, so sleeps never drift.</summary>
    private sealed class Schedule(double rate)
    {
        private readonly double _periodTicks = Stopwatch.Frequency / rate;
        private readonly long _maxLagTicks = (long)(MaxCatchUp.TotalSeconds * Stopwatch.Frequency);
        private double _nextDue = Stopwatch.GetTimestamp();

        /// <summary>Waits until the next slot is due; false if a stop was requested meanwhile.</summary>
        public bool WaitForNextSlot(CancellationToken stop)
        {
            long now = Stopwatch.GetTimestamp();

            // After a long stall (e.g. blocked by a backup), catch up at most MaxCatchUp worth of slots in a burst.
            if (_nextDue < now - _maxLagTicks)
            {
                _nextDue = now - _maxLagTicks;
            }

            while (_nextDue > now)
            {
                double remainingMs = (_nextDue - now) * 1000.0 / Stopwatch.Frequency;

                // Sleeping a whole millisecond may overshoot a sub-millisecond remainder; the absolute schedule
                // makes up for it on the following slots, so the average rate stays exact.
                if (stop.WaitHandle.WaitOne(Math.Max(1, (int)remainingMs)))
                {
                    return false;
                }

                now = Stopwatch.GetTimestamp();
            }

            _nextDue += _periodTicks;
            return true;
        }
    }

    private sealed class RunStats
    {
        public long Commits { get; set; }

        public long LastN { get; set; }

        public long BusyErrors { get; set; }

        public TimeSpan Elapsed { get; set; }

        public LatencyHistogram Latencies { get; } = new();

        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteNumber("commits", Commits);
                writer.WriteNumber("lastN", LastN);
                writer.WriteNumber("p50Ms", Math.Round(Latencies.PercentileMs(0.50), 3));
                writer.WriteNumber("p99Ms", Math.Round(Latencies.PercentileMs(0.99), 3));
                writer.WriteNumber("maxMs", Math.Round(Latencies.MaxMs, 3));
                writer.WriteNumber("busyErrors", BusyErrors);
                writer.WriteNumber("elapsedS", Math.Round(Elapsed.TotalSeconds, 3));
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }

    private sealed record Options(
        string DbPath,
        string Journal,
        double Rate,
        TimeSpan? Duration,
        int BusyTimeoutMs,
        int PayloadBytes)
    {
        private static readonly Option<string> DbOption = new("--db")
        {
            Description = "The SQLite database to write to (created if missing)",
            Required = true,
            CustomParser = ParseDb,
        };

        private static readonly Option<string> JournalOption = new("--journal")
        {
            Description = "Journal mode: wal or delete",
            DefaultValueFactory = _ => "wal",
            CustomParser = ParseJournal,
        };

        private static readonly Option<double> RateOption = new("--rate")
        {
            Description = "Commits a second (0 = as fast as it can)",
            CustomParser = ParseRate,
        };

        private static readonly Option<TimeSpan?> DurationOption = new("--duration")
        {
            Description = "Seconds to run (default: until stdin closes or SIGTERM)",
            CustomParser = ParseDuration,
        };

        private static readonly Option<int> BusyTimeoutOption = new("--busy-timeout")
        {
            Description = "SQLite's busy timeout in milliseconds",
            DefaultValueFactory = _ => 10_000,
            CustomParser = ParseBusyTimeout,
        };

        private static readonly Option<int> PayloadOption = new("--payload")
        {
            Description = "Random bytes in each child row (0..100000000)",
            DefaultValueFactory = _ => 100,
            CustomParser = ParsePayload,
        };

        public static void AddTo(Command command)
        {
            command.Options.Add(DbOption);
            command.Options.Add(JournalOption);
            command.Options.Add(RateOption);
            command.Options.Add(DurationOption);
            command.Options.Add(BusyTimeoutOption);
            command.Options.Add(PayloadOption);
        }

        public static Options From(ParseResult parse) => new(
            parse.GetValue(DbOption)!,
            parse.GetValue(JournalOption)!,
            parse.GetValue(RateOption),
            parse.GetValue(DurationOption),
            parse.GetValue(BusyTimeoutOption),
            parse.GetValue(PayloadOption));

        private static string ParseDb(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            if (value.Length == 0)
            {
                result.AddError("--db must not be empty.");
            }

            return value;
        }

        private static string ParseJournal(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            string journal = value.ToLowerInvariant();
            if (journal is not ("wal" or "delete"))
            {
                result.AddError($"--journal must be wal or delete, not '{value}'.");
            }

            return journal;
        }

        private static double ParseRate(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || rate < 0 || !double.IsFinite(rate))
            {
                result.AddError($"--rate must be a number >= 0, not '{value}'.");
            }

            return rate;
        }

        private static TimeSpan? ParseDuration(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds <= 0 || seconds > int.MaxValue / 1000.0)
            {
                result.AddError($"--duration must be a positive number of seconds, not '{value}'.");
                return null;
            }

            return TimeSpan.FromSeconds(seconds);
        }

        private static int ParseBusyTimeout(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int milliseconds))
            {
                result.AddError($"--busy-timeout must be a whole number of milliseconds, not '{value}'.");
            }

            return milliseconds;
        }

        private static int ParsePayload(ArgumentResult result)
        {
            string value = result.Tokens[0].Value;
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int bytes) || bytes > 100_000_000)
            {
                result.AddError($"--payload must be a byte count (0..100000000), not '{value}'.");
            }

            return bytes;
        }
    }
}

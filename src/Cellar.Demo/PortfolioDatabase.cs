using System.Globalization;

using Microsoft.Data.Sqlite;

namespace Cellar.Demo;

/// <summary>
/// Builds a photo-portfolio SQLite database of roughly a requested size, so demos, benchmarks and
/// tests back up something shaped like a real app (foreign keys, indexes, WAL, incompressible
/// blobs) rather than a toy table. Output is deterministic: the same target gives the same rows.
/// </summary>
/// <remarks>Over 300 lines on purpose: the schema and the rows that fill it are written side by side, table by table, and change together.</remarks>
public static class PortfolioDatabase
{
    // Fixed seed and epoch instead of the clock: two runs must produce identical content so
    // benchmarks and tests can compare like with like.
    private const int Seed = 0x5EED_CE11;
    private static readonly DateTimeOffset Epoch = new(2023, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Random bytes stand in for tiny JPEG previews. The photos themselves live on disk (the seed mounts
    // /app/content), so like the real database this one is mostly text and compresses the way it does.
    private const int MinThumbnailBytes = 512;
    private const int MaxThumbnailBytes = 2 * 1024;

    // On-disk cost of one image with its comments, reactions and likes (measured ~3 KB). It only sizes the user base and the
    // batches; the actual stopping point comes from the real file size.
    private const int EstimatedBytesPerImage = 3 * 1024;

    private const string Schema = """
        CREATE TABLE users (
            id           INTEGER PRIMARY KEY,
            username     TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            email        TEXT NOT NULL,
            bio          TEXT,
            location     TEXT,
            created_at   TEXT NOT NULL
        );
        CREATE TABLE galleries (
            id          INTEGER PRIMARY KEY,
            user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            title       TEXT NOT NULL,
            description TEXT,
            visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
            created_at  TEXT NOT NULL
        );
        CREATE TABLE images (
            id          INTEGER PRIMARY KEY,
            gallery_id  INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
            file_name   TEXT NOT NULL,
            title       TEXT,
            width       INTEGER NOT NULL,
            height      INTEGER NOT NULL,
            camera      TEXT,
            exif        TEXT,
            size_bytes  INTEGER NOT NULL,
            thumbnail   BLOB NOT NULL,
            taken_at    TEXT,
            uploaded_at TEXT NOT NULL
        );
        CREATE TABLE comments (
            id         INTEGER PRIMARY KEY,
            image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            body       TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE likes (
            user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (user_id, image_id)
        );
        CREATE TABLE reactions (
            id         INTEGER PRIMARY KEY,
            comment_id INTEGER NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
            user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            emoji      TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE follows (
            follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at  TEXT NOT NULL,
            PRIMARY KEY (follower_id, followee_id),
            CHECK (follower_id <> followee_id)
        );
        CREATE INDEX idx_galleries_user_id ON galleries (user_id);
        CREATE INDEX idx_images_gallery_id ON images (gallery_id);
        CREATE INDEX idx_comments_image_id ON comments (image_id);
        CREATE INDEX idx_likes_image_id ON likes (image_id);
        CREATE INDEX idx_follows_followee_id ON follows (followee_id);
        """;

    private static readonly string[] FirstNames =
    [
        "Ada", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
        "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara",
        "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Camille", "Dev",
    ];

    private static readonly string[] LastNames =
    [
        "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hansen",
        "Ito", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov",
        "Quispe", "Rossi", "Silva", "Tanaka", "Umarov", "Varga", "Novak", "Yilmaz", "Zhang",
    ];

    private static readonly string[] Cities =
    [
        "Lisbon", "Kyoto", "Reykjavik", "Cape Town", "Montreal", "Berlin", "Oaxaca", "Hobart",
        "Edinburgh", "Seoul", "Valparaiso", "Tromso", "Marrakesh", "Portland", "Hanoi",
    ];

    private static readonly string[] Genres =
    [
        "Landscape", "Street", "Portrait", "Wildlife", "Architecture", "Astro", "Macro",
        "Documentary", "Film", "Wedding", "Travel", "Black-and-white",
    ];

    private static readonly string[] Adjectives =
    [
        "Golden", "Quiet", "Misty", "Electric", "Forgotten", "Winter", "Late", "Blue", "Wild",
        "Northern", "Hidden", "Salt", "Neon", "Slow", "Last", "Early", "Urban", "Coastal",
    ];

    private static readonly string[] Nouns =
    [
        "Hour", "Streets", "Harbour", "Light", "Mornings", "Ridge", "Market", "Shadows",
        "Tides", "Rooftops", "Forest", "Faces", "Dunes", "Rain", "Bridges", "Fjords", "Alleys",
    ];

    private static readonly (string Make, string Model, string FilePrefix)[] Cameras =
    [
        ("Canon", "EOS R5", "IMG_"), ("Canon", "EOS 5D Mark IV", "IMG_"), ("Nikon", "Z 8", "DSC_"),
        ("Nikon", "D850", "DSC_"), ("Sony", "ILCE-7M4", "DSC"), ("Sony", "ILCE-7RM5", "DSC"),
        ("FUJIFILM", "X-T5", "DSCF"), ("FUJIFILM", "X100V", "DSCF"), ("OM Digital Solutions", "OM-1", "P"),
        ("LEICA CAMERA AG", "LEICA Q2", "L"), ("Apple", "iPhone 15 Pro", "IMG_"), ("Panasonic", "DC-S5M2", "P"),
    ];

    private static readonly string[] Lenses =
    [
        "24-70mm F2.8", "70-200mm F2.8", "35mm F1.4", "50mm F1.8", "85mm F1.4", "16-35mm F4",
        "100-400mm F4.5-5.6", "23mm F2", "90mm F2.8 Macro", "14mm F1.8",
    ];

    private static readonly string[] Apertures = ["1.4", "1.8", "2", "2.8", "4", "5.6", "8", "11", "16"];
    private static readonly string[] Shutters = ["1/8000", "1/2000", "1/500", "1/250", "1/125", "1/60", "1/15", "1/2", "4", "30"];
    private static readonly int[] Isos = [64, 100, 200, 400, 800, 1600, 3200, 6400, 12800];
    private static readonly int[] FocalLengths = [14, 16, 23, 24, 28, 35, 50, 70, 85, 105, 135, 200, 400];

    private static readonly (int Width, int Height)[] Sensors =
    [
        (8192, 5464), (6000, 4000), (8256, 5504), (7728, 5152), (4032, 3024), (5184, 3888),
        (6240, 4160), (9504, 6336),
    ];

    private static readonly string[] CommentNouns =
    [
        "light", "composition", "colour grading", "depth of field", "framing", "contrast",
        "mood", "texture", "reflection", "bokeh", "timing", "sky", "leading line",
    ];

    // Prefix/suffix pairs rather than format strings: cheap to join and no format parsing per row.
    private static readonly (string Before, string After)[] CommentTemplates =
    [
        ("The ", " in this one is incredible."), ("Love the ", " here."), ("That ", " though!"),
        ("Really nice ", "."), ("How did you get the ", " so clean?"), ("The ", " makes this shot."),
        ("Not sure about the ", ", but the rest works for me."), ("Great ", ", very cinematic."),
    ];

    private static readonly string[] CommentExtras =
    [
        "What lens did you use?", "Saving this for inspiration.", "This deserves a big print.",
        "Wow.", "Been there last summer, you captured it perfectly.", "Is this edited in Lightroom?",
        "Stunning as always.", "Following for more like this!", "Which film simulation is this?",
    ];

    private static readonly string[] Emojis = ["👍", "❤️", "😂", "😮", "🔥", "👏", "😍"];
    private static readonly string[] Visibilities = ["public", "public", "public", "unlisted", "private"];

    /// <summary>
    /// Creates the database at <paramref name="path"/>, which must not exist yet. On any failure
    /// (including cancellation) the partial files are deleted so the caller can simply retry.
    /// </summary>
    /// <param name="path">Database file to create; its directory must exist.</param>
    /// <param name="targetBytes">
    /// Approximate size of the finished file; lands within about 1% above it from 1 MB up, while
    /// targets below ~200 KB come out at that floor (schema plus a minimal set of rows).
    /// </param>
    /// <param name="cancellationToken">Stops generation between batches.</param>
    public static async Task CreateAsync(string path, long targetBytes, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetBytes);
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new IOException($"Refusing to overwrite existing '{path}'.");
        }

        // Microsoft.Data.Sqlite's async methods complete synchronously anyway, so run the whole
        // CPU- and disk-bound job on the pool instead of blocking the caller's thread.
        await Task.Run(
            () =>
            {
                try
                {
                    Generate(path, targetBytes, cancellationToken);
                }
                catch
                {
                    DeleteDatabaseFiles(path);
                    throw;
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static void Generate(string path, long targetBytes, CancellationToken cancellationToken)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Pooling would keep the file open after we return, leaving -wal/-shm behind and
            // blocking callers that want to copy or delete the database straight away.
            Pooling = false,
            // Rows are generated parent-first, so enforcement would only cost lookups; the tests
            // verify integrity with foreign_key_check instead.
            ForeignKeys = false,
        }.ToString();

        using var connection = new SqliteConnection(connectionString);
        connection.Open();

        // A fresh file has nothing to protect, so skip fsyncs and the on-disk journal while
        // filling it; a crash just means regenerating. The journal stays in memory rather than
        // OFF so a cancelled batch still rolls back cleanly.
        Execute(connection, "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;");
        Execute(connection, Schema);

        var random = new Random(Seed);
        long estimatedImages = Math.Max(1, targetBytes / EstimatedBytesPerImage);
        int userCount = (int)Math.Clamp(estimatedImages / 30, 25, 1_000_000);
        int imagesPerBatch = (int)Math.Clamp(estimatedImages / 100, 10, 1_000);

        int[] userCreated = InsertUsers(connection, random, userCount, cancellationToken);
        int[] galleryCreated = InsertGalleries(connection, random, userCreated, cancellationToken);
        InsertFollows(connection, random, userCreated, cancellationToken);
        InsertImages(connection, random, targetBytes, imagesPerBatch, userCreated.Length, galleryCreated, cancellationToken);

        // synchronous isn't persisted, but NORMAL makes the WAL switch and final checkpoint
        // durable. WAL is persisted in the header, which is the mode the app runs in; the
        // TRUNCATE checkpoint leaves the main file holding the whole database.
        Execute(connection, "PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL; PRAGMA wal_checkpoint(TRUNCATE);");
    }

    private static int[] InsertUsers(SqliteConnection connection, Random random, int count, CancellationToken cancellationToken)
    {
        var created = new int[count];
        using var insert = new PreparedInsert(connection, "users", 7);
        for (int start = 0; start < count; start += 10_000)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using SqliteTransaction transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            for (int i = start; i < Math.Min(count, start + 10_000); i++)
            {
                int id = i + 1;
                string first = Pick(random, FirstNames);
                string last = Pick(random, LastNames);
                // The id suffix keeps the UNIQUE username constraint satisfied without retries.
                string username = string.Concat(first.ToLowerInvariant(), ".", last.ToLowerInvariant(), id.ToString(CultureInfo.InvariantCulture));
                string? city = random.Next(4) == 0 ? null : Pick(random, Cities);
                string? bio = random.Next(3) == 0
                    ? null
                    : city is null
                        ? string.Concat(Pick(random, Genres), " photographer. Prints on request.")
                        : string.Concat(Pick(random, Genres), " and ", Pick(random, Genres).ToLowerInvariant(), " photographer based in ", city, ".");
                created[i] = random.Next(0, 730 * 86_400);
                insert.Run(id, username, string.Concat(first, " ", last), username + "@example.com", bio, city, Timestamp(created[i]));
            }

            transaction.Commit();
        }

        return created;
    }

    private static int[] InsertGalleries(SqliteConnection connection, Random random, int[] userCreated, CancellationToken cancellationToken)
    {
        var created = new List<int>(userCreated.Length * 3);
        using var insert = new PreparedInsert(connection, "galleries", 6);
        using SqliteTransaction transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        for (int user = 0; user < userCreated.Length; user++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Some accounts only browse; guarantee at least one gallery overall so images have a parent.
            int galleries = user == 0 ? 1 + random.Next(5) : random.Next(6);
            for (int g = 0; g < galleries; g++)
            {
                int at = userCreated[user] + random.Next(0, 365 * 86_400);
                created.Add(at);
                string title = string.Concat(Pick(random, Adjectives), " ", Pick(random, Nouns));
                string? description = random.Next(2) == 0
                    ? null
                    : string.Concat(Pick(random, Genres), " work from ", Pick(random, Cities), ", shot over a few ", random.Next(2) == 0 ? "weekends." : "months.");
                insert.Run(created.Count, user + 1, title, description, Pick(random, Visibilities), Timestamp(at));
            }
        }

        transaction.Commit();
        return [.. created];
    }

    private static void InsertFollows(SqliteConnection connection, Random random, int[] userCreated, CancellationToken cancellationToken)
    {
        int users = userCreated.Length;
        int maxFollows = Math.Min(30, users / 2);
        using var insert = new PreparedInsert(connection, "follows", 3);
        Span<int> followed = stackalloc int[maxFollows];
        using SqliteTransaction transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        for (int follower = 0; follower < users; follower++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = random.Next(maxFollows + 1);
            for (int n = 0; n < count; n++)
            {
                int followee;
                do
                {
                    followee = PickUser(random, users);
                }
                while (followee == follower || followed[..n].Contains(followee));

                followed[n] = followee;
                int at = Math.Max(userCreated[follower], userCreated[followee]) + random.Next(0, 90 * 86_400);
                insert.Run(follower + 1, followee + 1, Timestamp(at));
            }
        }

        transaction.Commit();
    }

    private static void InsertImages(
        SqliteConnection connection,
        Random random,
        long targetBytes,
        int imagesPerBatch,
        int users,
        int[] galleryCreated,
        CancellationToken cancellationToken)
    {
        using var images = new PreparedInsert(connection, "images", 12);
        using var comments = new PreparedInsert(connection, "comments", 5);
        using var reactions = new PreparedInsert(connection, "reactions", 5);
        using var likes = new PreparedInsert(connection, "likes", 3);
        using SqliteCommand pageCount = connection.CreateCommand();
        pageCount.CommandText = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size();";

        int maxLikes = Math.Min(12, users);
        Span<int> likers = stackalloc int[maxLikes];
        long imageId = 0;
        long commentId = 0;
        long reactionId = 0;

        // Stop on the real file size rather than a row count computed up front: page overhead
        // varies with blob sizes, and measuring keeps the result within a batch of the target.
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            using SqliteTransaction transaction = connection.BeginTransaction();
            images.Transaction = transaction;
            comments.Transaction = transaction;
            reactions.Transaction = transaction;
            likes.Transaction = transaction;

            for (int i = 0; i < imagesPerBatch; i++)
            {
                imageId++;
                int gallery = random.Next(galleryCreated.Length);
                int uploaded = galleryCreated[gallery] + random.Next(0, 200 * 86_400);
                int taken = uploaded - random.Next(0, 30 * 86_400);
                (string make, string model, string prefix) = Pick(random, Cameras);
                (int width, int height) = Pick(random, Sensors);
                if (random.Next(3) == 0)
                {
                    (width, height) = (height, width);
                }

                images.Run(
                    imageId,
                    gallery + 1,
                    string.Concat(prefix, random.Next(1, 10_000).ToString("D4", CultureInfo.InvariantCulture), ".jpg"),
                    random.Next(4) == 0 ? null : string.Concat(Pick(random, Adjectives), " ", Pick(random, Nouns)),
                    width,
                    height,
                    string.Concat(make, " ", model),
                    random.Next(10) == 0 ? null : Exif(random, make, model, taken),
                    random.Next(2_000_000, 30_000_000),
                    Thumbnail(random),
                    Timestamp(taken),
                    Timestamp(uploaded));

                int commentCount = random.Next(7);
                for (int c = 0; c < commentCount; c++)
                {
                    commentId++;
                    int commented = uploaded + random.Next(0, 30 * 86_400);
                    comments.Run(commentId, imageId, PickUser(random, users) + 1, CommentBody(random), Timestamp(commented));

                    int reactionCount = random.Next(3);
                    for (int r = 0; r < reactionCount; r++)
                    {
                        reactionId++;
                        reactions.Run(reactionId, commentId, PickUser(random, users) + 1, Pick(random, Emojis), Timestamp(commented + random.Next(0, 7 * 86_400)));
                    }
                }

                int likeCount = random.Next(maxLikes + 1);
                for (int l = 0; l < likeCount; l++)
                {
                    int liker;
                    do
                    {
                        liker = PickUser(random, users);
                    }
                    while (likers[..l].Contains(liker));

                    likers[l] = liker;
                    likes.Run(liker + 1, imageId, Timestamp(uploaded + random.Next(0, 60 * 86_400)));
                }
            }

            transaction.Commit();
        }
        while ((long)pageCount.ExecuteScalar()! < targetBytes);
    }

    private static string Exif(Random random, string make, string model, int taken)
    {
        string lens = Pick(random, Lenses);
        string dateTaken = Epoch.AddSeconds(taken).ToString("yyyy:MM:dd HH:mm:ss", CultureInfo.InvariantCulture);
        string exif = string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"Make":"{{make}}","Model":"{{model}}","LensModel":"{{lens}}","FocalLength":{{Pick(random, FocalLengths)}},"FNumber":{{Pick(random, Apertures)}},"ExposureTime":"{{Pick(random, Shutters)}}","ISO":{{Pick(random, Isos)}},"DateTimeOriginal":"{{dateTaken}}","Software":"Adobe Lightroom Classic 13.{{random.Next(5)}}"}""");
        if (random.Next(5) < 3)
        {
            // Only some photos carry GPS, as with real uploads where location is often stripped.
            double latitude = (random.NextDouble() * 140) - 70;
            double longitude = (random.NextDouble() * 360) - 180;
            exif = string.Create(CultureInfo.InvariantCulture, $$"""{{exif[..^1]}},"GPSLatitude":{{latitude:F5}},"GPSLongitude":{{longitude:F5}}}""");
        }

        return exif;
    }

    private static byte[] Thumbnail(Random random)
    {
        var bytes = new byte[random.Next(MinThumbnailBytes, MaxThumbnailBytes + 1)];
        random.NextBytes(bytes);
        // JPEG start/end markers so tools sniffing the blob see what an app would store.
        bytes[0] = 0xFF;
        bytes[1] = 0xD8;
        bytes[2] = 0xFF;
        bytes[3] = 0xE0;
        bytes[^2] = 0xFF;
        bytes[^1] = 0xD9;
        return bytes;
    }

    private static string CommentBody(Random random)
    {
        (string before, string after) = Pick(random, CommentTemplates);
        string sentence = string.Concat(before, Pick(random, CommentNouns), after);
        return random.Next(3) == 0 ? string.Concat(sentence, " ", Pick(random, CommentExtras)) : sentence;
    }

    // Squaring skews picks towards low ids, giving a few popular accounts the way real social
    // graphs have, instead of a flat distribution nobody would recognise.
    private static int PickUser(Random random, int users)
    {
        double r = random.NextDouble();
        return (int)(r * r * users);
    }

    private static T Pick<T>(Random random, T[] items)
    {
        return items[random.Next(items.Length)];
    }

    private static string Timestamp(int secondsSinceEpoch)
    {
        // SQLite's own datetime() format, which is what an app writing CURRENT_TIMESTAMP stores.
        return Epoch.AddSeconds(secondsSinceEpoch).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void DeleteDatabaseFiles(string path)
    {
        foreach (string file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // Best effort: the original exception is the one worth surfacing.
            }
            catch (UnauthorizedAccessException)
            {
                // As above.
            }
        }
    }

    /// <summary>
    /// One INSERT prepared once and re-bound per row, because re-parsing SQL for every row would
    /// dominate generation time.
    /// </summary>
    private sealed class PreparedInsert : IDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter[] _parameters;

        public PreparedInsert(SqliteConnection connection, string table, int columns)
        {
            _parameters = new SqliteParameter[columns];
            _command = connection.CreateCommand();
            _command.CommandText = string.Concat(
                "INSERT INTO ",
                table,
                " VALUES (",
                string.Join(", ", Enumerable.Range(0, columns).Select(static i => "$p" + i.ToString(CultureInfo.InvariantCulture))),
                ");");
            for (int i = 0; i < columns; i++)
            {
                _parameters[i] = _command.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), DBNull.Value));
            }
        }

        public SqliteTransaction Transaction
        {
            set => _command.Transaction = value;
        }

        public void Run(params ReadOnlySpan<object?> values)
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                _parameters[i].Value = values[i] ?? DBNull.Value;
            }

            _command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _command.Dispose();
        }
    }
}

using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Wal;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Replication;

/// <summary>
/// The stream's proof, which no WAL shipper gives: pin the live database at one transaction (writers held off for a
/// moment while a read transaction is moved to the WAL's end), hash the live image as that read transaction sees it,
/// wait until the stream has shipped exactly that transaction, rebuild it from the stream into scratch, and compare
/// the two page for page (SHA-256 of the whole image), with <c>integrity_check</c> on the rebuild. A mismatch means the
/// stream would restore something the app never had.
/// </summary>
public static class StreamDrill
{
    /// <summary>How long the drill waits for the stream to ship the transaction it pinned.</summary>
    private static readonly TimeSpan ShipWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs the drill on <paramref name="job"/>. When no follower holds the job's folder (no daemon streams it), a
    /// catch-up pass ships the pinned transaction first.
    /// </summary>
    public static async Task<StreamDrillResult> RunAsync(StreamJob job, TimeProvider time, TimeZoneInfo zone, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        using var live = LiveDatabase.Open(job.Database.Path);
        var (position, image) = live.WithWritersHeld(() =>
        {
            live.RefreshRead();
            return BaseImage.Pin(live, null, time.GetUtcNow());
        }, cancellationToken);
        var liveHash = await OwnThread.Run(() => image.Hash(cancellationToken), cancellationToken).ConfigureAwait(false);
        live.EndRead();

        if (await TryLockAsync(job, time, cancellationToken).ConfigureAwait(false) is { } folderLock)
        {
            using (folderLock)
            {
                await new StreamRunner(time, zone, loggers).CatchUpAsync(job, cancellationToken).ConfigureAwait(false);
            }
        }

        var (generation, txid) = await ShippedAsync(job, position, time, cancellationToken).ConfigureAwait(false);
        SecureFiles.EnsureFolder(job.Folder);
        using var scratch = TempFile.For(job.Folder, "drill", "db");
        var rebuilt = await StreamRestore.BuildToAsync(job, generation, txid, scratch.Path, cancellationToken).ConfigureAwait(false);
        var at = $"{generation.Id}/{txid}";
        if (!rebuilt.Ok)
        {
            return new StreamDrillResult(false, at, rebuilt.Problems[0]);
        }

        var rebuiltHash = await OwnThread.Run(() => FileHash(scratch.Path, cancellationToken), cancellationToken).ConfigureAwait(false);
        return rebuiltHash == liveHash
            ? new StreamDrillResult(true, at, null)
            : new StreamDrillResult(false, at, $"the database rebuilt from the stream to transaction {at} differs from the live database at that transaction (SHA-256 {rebuiltHash[..12]} vs {liveHash[..12]})");
    }

    /// <summary>The transaction of the stream that ends exactly at <paramref name="position"/>, once shipped.</summary>
    private static async Task<(Generation Generation, long Txid)> ShippedAsync(StreamJob job, WalPosition position, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            if (Generation.List(job.Folder) is [.., var newest])
            {
                var found = StreamHistory.After(newest, 0).LastOrDefault(r => r.End == position)?.Txid
                    ?? (newest.Manifest.Start == position ? 0 : (long?)null);
                if (found is { } txid)
                {
                    return (newest, txid);
                }
            }

            if (position == default)
            {
                throw new CellarException($"stream {job.Name}: the WAL is empty (nothing written since the app's last TRUNCATE checkpoint), so there is no transaction to pin; try again once the app writes");
            }

            if (time.GetElapsedTime(started) > ShipWait)
            {
                throw new CellarException($"stream {job.Name} did not ship the transaction the drill pinned within {ShipWait.TotalSeconds:0} s (is `cellar serve` following it, and is it healthy?)");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<FolderLock?> TryLockAsync(StreamJob job, TimeProvider time, CancellationToken cancellationToken)
    {
        SecureFiles.EnsureFolder(job.Folder);
        try
        {
            return await FolderLock.AcquireAsync(job.Folder, time, cancellationToken, TimeSpan.Zero).ConfigureAwait(false);
        }
        catch (CellarException)
        {
            return null; // a follower holds it: it ships on its own
        }
    }

    private static string FileHash(string path, CancellationToken cancellationToken)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        using var hash = new HashingStream(Stream.Null);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.Write(buffer, 0, read);
        }

        return hash.HexHash();
    }
}

/// <summary>What the stream's drill found.</summary>
/// <param name="Ok">True when the rebuild matched the live database page for page and passed integrity_check.</param>
/// <param name="Point">The transaction compared, as GENERATION/TXID.</param>
/// <param name="Problem">What was wrong, when it was not.</param>
public sealed record StreamDrillResult(bool Ok, string Point, string? Problem);

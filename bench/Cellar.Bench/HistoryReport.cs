using static System.FormattableString;

namespace Cellar.Bench;

/// <summary>The history suite's section of the report: a day of history's storage and its restore, Cellar vs Litestream.</summary>
internal static class HistoryReport
{
    public static string ToMarkdown(HistoryResult r, BenchOptions options, Machine machine, DateTimeOffset started)
    {
        string[] rows =
        [
            Invariant($"| storage for a day of history, {r.StorageMiB} MiB database, 1% of pages changed an hour, the day's next full copy taken | {Report.MiB(r.Storage[Tool.Cellar].ReplicaBytes)} | {Report.MiB(r.Storage[Tool.Litestream].ReplicaBytes)} | {(double)r.Storage[Tool.Cellar].ReplicaBytes / r.Storage[Tool.Litestream].ReplicaBytes:0.00} | <= 0.50 |"),
            Invariant($"| restore of the newest point, {r.RestoreMiB} MiB database with a day of history (whole process) | {r.Restore[Tool.Cellar].RestoreSeconds:0.00} s | {r.Restore[Tool.Litestream].RestoreSeconds:0.00} s | {r.Restore[Tool.Cellar].RestoreSeconds / r.Restore[Tool.Litestream].RestoreSeconds:0.00} | <= 1.00, and < 10 s |"),
            Invariant($"| its replica after the day (one full copy and the day's changes) | {Report.MiB(r.Restore[Tool.Cellar].ReplicaBytes)} | {Report.MiB(r.Restore[Tool.Litestream].ReplicaBytes)} | {(double)r.Restore[Tool.Cellar].ReplicaBytes / r.Restore[Tool.Litestream].ReplicaBytes:0.00} | reported |"),
        ];
        return Report.Section(
            "A day of stream history vs Litestream",
            Invariant($"A day scaled to {24 * r.SecondsPerHour / 60.0:0} minutes ({r.SecondsPerHour} s an hour). The portfolio database in WAL mode; the app rewrites image titles at random, 1% of the database's pages an hour, in 20 transactions an hour. Each replicator follows a fresh copy, one after the other, on its defaults but for when it takes its next full copy: Cellar's stream job (`cellar serve`, native AOT) with its base schedule, Litestream v0.3.13 with `snapshot-interval`, both set to fall just after the day. Storage: every file of the replica (Cellar's job folder, Litestream's replica folder) once that next full copy exists: what keeping the day restorable costs. Restore: on the larger database, no full copy after the start, so the whole day is replayed; `cellar restore --latest` and `litestream restore`, each as a whole process after a clean stop, and the result compared with the app's rows."),
            options,
            machine,
            started,
            "| measure | Cellar | Litestream | Cellar / Litestream | target |",
            rows);
    }
}

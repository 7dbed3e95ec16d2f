using System.CommandLine;
using Cellar.Core.Offsite;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>
/// <c>cellar sync [--dest NAME] [--repair]</c>: uploads every verified backup a destination lacks, applies its
/// retention; with <c>--repair</c> first checks that each copy Cellar recorded is still there at its size, and
/// re-seals the sidecars of copies made before sidecars were sealed whole.
/// </summary>
internal static class SyncCommand
{
    public static Command Create()
    {
        var destination = new Option<string?>("--dest") { Description = "Only this offsite destination" };
        var repair = new Option<bool>("--repair") { Description = "First check every recorded copy (two HEAD requests each), upload again what is missing or wrong, and seal whole the sidecars of copies made without a key or by an older Cellar (one PUT each)" };
        var command = new Command("sync", "Copy verified backups to the offsite destinations and apply their retention") { destination, repair };
        command.SetAction(CellarCli.Action(async (parse, context, cancellationToken) =>
        {
            var sync = new OffsiteSync(context.Config, context.Time, context.Loggers.CreateLogger<OffsiteSync>());
            var reports = await sync.RunAsync(null, parse.GetValue(destination), parse.GetValue(repair), cancellationToken).ConfigureAwait(false);
            return Report(reports);
        }));
        return command;
    }

    /// <summary>Prints one line per destination; 1 when any destination failed (what it lacks stays queued).</summary>
    public static int Report(IReadOnlyList<SyncReport> reports)
    {
        foreach (var report in reports)
        {
            var done = $"offsite {report.Destination} ({report.Database}): {report.Uploaded.Count} uploaded ({Output.Bytes(report.Uploaded.Sum(u => u.SizeBytes))}), {report.Deleted.Count} deleted by retention"
                + (report.Repaired.Count > 0 ? $", {report.Repaired.Count} missing or damaged copies found" : "")
                + (report.Resealed.Count > 0 ? $", {report.Resealed.Count} re-sealed" : "")
                + (report.NotResealed.Count > 0 ? $", {report.NotResealed.Count} left with an old seal or none (local backup gone)" : "");
            Console.Error.WriteLine(report.Error is null ? done : $"{done}; failed: {report.Error} (the rest stays queued: run `cellar sync` again)");
        }

        return reports.Any(r => r.Error is not null) ? 1 : 0;
    }
}

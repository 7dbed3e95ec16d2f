using System.Diagnostics;

using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>cellar run</c> killed with SIGKILL at any moment (power cut, OOM killer, <c>kill -9</c>) never leaves a
/// file under a final name that is not a complete, verified backup, and the next run cleans up what it left.
/// A smoke test: kills spread over a run land before it writes anything and while it writes, but almost never in the
/// microseconds between sidecar and rename; <see cref="CrashPointTests"/> kill at each of those steps.
/// </summary>
public sealed class CrashTests
{
    private const long DatabaseBytes = 40L << 20;
    private const int Kills = 20;
    private const int MaxAttempts = 60;
    private const int KilledBySigkill = 128 + 9;

    [Fact]
    public async Task Run_killed_at_random_moments_leaves_only_verified_backups_and_the_next_run_sweeps_the_rest()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper;
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);

        // One undisturbed run gives the typical duration, process start included.
        var clock = Stopwatch.StartNew();
        await sandbox.BackupAsync();
        var typical = clock.Elapsed;

        var seed = Environment.TickCount;
        output?.WriteLine($"typical run {typical.TotalMilliseconds:0} ms; random seed {seed}");
        var random = new Random(seed);
        var verified = new HashSet<string>(StringComparer.Ordinal);
        var kills = 0;
        var phases = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var attempt = 0; kills < Kills && attempt < MaxAttempts; attempt++)
        {
            // One kill per slice of the run, at a random moment in it: spread over the whole run, never bunched up.
            var delay = TimeSpan.FromMilliseconds((attempt % Kills + random.NextDouble()) / Kills * typical.TotalMilliseconds);
            var leftBefore = Leftovers(sandbox);
            var started = Stopwatch.StartNew();
            using var process = CellarProcess.Start(["--config", sandbox.ConfigPath, "run", "daily"]);
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await Task.Delay(delay, ct);
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It finished first.
            }

            await process.WaitForExitAsync(ct);
            await stdout;
            var errors = await stderr;
            var killed = process.ExitCode == KilledBySigkill;
            if (killed)
            {
                kills++;
                var phase = PhaseOf(sandbox, verified, leftBefore);
                phases[phase] = phases.GetValueOrDefault(phase) + 1;
            }
            else
            {
                Assert.True(process.ExitCode == 0, $"a run that was not killed failed: exit {process.ExitCode}: {errors}");

                // Runs got faster than the first one (a warmer machine): aim the kills at what a run takes now.
                typical = started.Elapsed;
            }

            output?.WriteLine($"attempt {attempt}: after {delay.TotalMilliseconds:0} ms {(killed ? "killed" : "finished")}, exit {process.ExitCode}");

            foreach (var backup in FinalNamedBackups(sandbox).Where(verified.Add))
            {
                var check = await sandbox.CellarAsync("verify", backup);
                Assert.True(check.ExitCode == 0, $"after a kill at {delay.TotalMilliseconds:0} ms, {backup} is under its final name but does not verify: {check}");
            }
        }

        var landed = string.Join(", ", phases.Select(p => $"{p.Key}: {p.Value}"));
        output?.WriteLine($"{kills} kills ({landed}), {verified.Count} backups under final names verified");
        Assert.True(kills >= Kills, $"only {kills} of {MaxAttempts} runs were still going when killed");
        Assert.True(phases.GetValueOrDefault(BeforeWriting) > 0 && phases.GetValueOrDefault(Writing) > 0, $"the kills did not land both before and while a backup was written ({landed}); the test proved little");

        foreach (var listed in await sandbox.ListedBackupsAsync())
        {
            Assert.True(verified.Contains(listed) || (await sandbox.CellarAsync("verify", listed)).ExitCode == 0, $"{listed} does not verify");
        }

        await sandbox.BackupAsync();

        CliSandbox.AssertNoTempFiles(sandbox.BackupRoot);
        var orphans = Directory.EnumerateFiles(sandbox.DailyFolder, "*.json")
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !File.Exists(f[..^".json".Length]))
            .ToList();
        Assert.True(orphans.Count == 0, $"sidecars without a backup were left: {string.Join(", ", orphans)}");
        var verifyAll = await sandbox.CellarAsync("verify");
        Assert.True(verifyAll.ExitCode == 0, verifyAll.ToString());
    }

    private const string BeforeWriting = "before writing";
    private const string Writing = "while writing";

    /// <summary>
    /// Where in the run a kill landed, told by what it left that was not there before it started (an earlier kill's
    /// leftovers stay until a run sweeps them): a new backup under its final name (after the renames), a sidecar without
    /// its backup (between them), temp files (the copy, the compressed file), or nothing yet.
    /// </summary>
    private static string PhaseOf(CliSandbox sandbox, HashSet<string> verified, IReadOnlySet<string> leftBefore)
    {
        if (FinalNamedBackups(sandbox).Any(b => !verified.Contains(b)))
        {
            return "after publishing";
        }

        var left = Leftovers(sandbox).Except(leftBefore).ToList();
        return left.Any(f => f.EndsWith(".json", StringComparison.Ordinal)) ? "while publishing"
            : left.Count > 0 ? Writing
            : BeforeWriting;
    }

    /// <summary>Temp files and sidecars without their backup: what a killed run leaves for the next one to sweep.</summary>
    private static HashSet<string> Leftovers(CliSandbox sandbox) =>
        Directory.Exists(sandbox.DailyFolder)
            ? Directory.EnumerateFiles(sandbox.DailyFolder, "*.json").Where(f => !Path.GetFileName(f).StartsWith('.') && !File.Exists(f[..^".json".Length]))
                .Concat(CliSandbox.TempFiles(sandbox.BackupRoot)).ToHashSet(StringComparer.Ordinal)
            : [];

    /// <summary>Every backup a person would take for one: listed by the catalog, or any <c>*.gz</c> not hidden.</summary>
    private static IEnumerable<string> FinalNamedBackups(CliSandbox sandbox) =>
        Directory.Exists(sandbox.DailyFolder)
            ? Directory.EnumerateFiles(sandbox.DailyFolder, "*.gz").Where(f => !Path.GetFileName(f).StartsWith('.')).ToList()
            : [];
}

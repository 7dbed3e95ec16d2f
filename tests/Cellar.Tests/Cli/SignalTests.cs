using Cellar.Core.IO;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// <c>run</c>, <c>restore</c> and <c>verify</c> stopped by a signal (systemd's stop, Ctrl+C, a closed terminal, a file
/// size limit) in the middle of writing a database-sized temp file: it is removed, one line says what happened, and the
/// exit code is the shell's for that signal. The process is paused (SIGSTOP, a Debug-build <see cref="CrashPoint"/>) with
/// the temp file written and the work not done, signalled, then resumed: the signal always lands mid-work, however
/// loaded the machine (a run polled for its temp file once finished before the signal arrived).
/// </summary>
public sealed class SignalTests
{
    private const long DatabaseBytes = 40L << 20;

    public static TheoryData<string, int> Signals => new() { { "TERM", 15 }, { "INT", 2 }, { "HUP", 1 }, { "XFSZ", 25 } };

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_backup_stopped_by_a_signal_removes_its_temp_files_and_says_one_line(string signal, int number)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);

        var run = await SignalledAsync(CrashPoint.BackupWritten, sandbox.DailyFolder, number, ["--config", sandbox.ConfigPath, "run", "daily"]);

        AssertStoppedBy(run, signal, number);
        CliSandbox.AssertNoTempFiles(sandbox.DailyFolder);
        Assert.DoesNotContain(Directory.EnumerateFiles(sandbox.DailyFolder), f => !Path.GetFileName(f).StartsWith('.'));
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_restore_stopped_by_a_signal_leaves_the_target_folder_as_it_was(string signal, int number)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        await sandbox.BackupAsync();
        var folder = sandbox.Combine("app");
        Directory.CreateDirectory(folder);

        var run = await SignalledAsync(CrashPoint.VerifyExpanded, folder, number, ["--config", sandbox.ConfigPath, "restore", "--latest", "daily", "--to", Path.Combine(folder, "portfolio.sqlite")]);

        AssertStoppedBy(run, signal, number);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_verification_stopped_by_a_signal_removes_its_expanded_copy(string signal, int number)
    {
        using var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        var backup = await sandbox.BackupAsync();

        var run = await SignalledAsync(CrashPoint.VerifyExpanded, sandbox.DailyFolder, number, ["--config", sandbox.ConfigPath, "verify", backup]);

        AssertStoppedBy(run, signal, number);
        CliSandbox.AssertNoTempFiles(sandbox.DailyFolder);
    }

    private static void AssertStoppedBy(CellarRun run, string signal, int number)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 128 + number, $"expected exit {128 + number}: {run}");
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"cellar: interrupted by SIG{signal}", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Starts cellar paused at <paramref name="point"/>, checks its temp file is in <paramref name="watched"/>, sends the
    /// signal while it is stopped and lets it go on.
    /// </summary>
    private static Task<CellarRun> SignalledAsync(string point, string watched, int number, string[] args) =>
        CrashPoints.RunPausedAsync(args, point, process =>
        {
            Assert.True(CliSandbox.TempFiles(watched).Count > 0, $"cellar paused at {point} with no temp file in {watched}");
            CrashPoints.Signal(process, number);
        });
}

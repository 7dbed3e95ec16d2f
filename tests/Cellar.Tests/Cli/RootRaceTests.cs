using System.Diagnostics;
using Cellar.Cli;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Jobs;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// Cellar as root beside folders the app's user (uid 1001 here) can write. That user cannot be kept from swapping
/// names in its own folders, so every test runs a second process that does exactly that, in a loop or planted in
/// advance, and checks that root never acts on a file the swap pointed it at: a root-only victim file keeps its
/// owner, mode and content.
/// </summary>
public sealed class RootRaceTests : IDisposable
{
    private const uint AppUser = 1001;
    private readonly TempFolder _temp = new();
    private readonly string _victim;

    public RootRaceTests()
    {
        Directory.CreateDirectory(_temp.Combine("root-only"));
        _victim = _temp.Combine("root-only", "secret");
        File.WriteAllText(_victim, "root's secret\n");
        File.SetUnixFileMode(_victim, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_root_restore_never_gives_a_file_the_app_user_swapped_in_to_that_user()
    {
        SkipUnlessRoot();
        using var sandbox = await CliSandbox.CreateAsync(40L << 20);
        await sandbox.BackupAsync();
        var app = sandbox.Combine("app");
        Directory.CreateDirectory(app);
        var target = Path.Combine(app, "portfolio.sqlite");
        File.Copy(sandbox.Database, target);
        await ChownAsync(AppUser, app, target);

        // Once the check has the verified copy open (SQLite's two connections: it reads on through them whatever the name
        // becomes), swap the name for a link to the victim: a restore that chowns or chmods by name then hands it over.
        await using var swapper = Swapper.Start($$"""
            import glob, os
            def holders(path):
                n = 0
                for fd in glob.glob('/proc/[0-9]*/fd/*'):
                    try:
                        n += os.readlink(fd) == path
                    except OSError:
                        pass
                return n
            while True:
                for f in glob.glob('{{app}}/.portfolio.sqlite.cellar-tmp-*'):
                    try:
                        if not os.path.islink(f) and holders(f) >= 2:
                            os.unlink(f)
                            os.symlink('{{_victim}}', f)
                    except OSError:
                        pass
            """);
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var run = await sandbox.CellarAsync("restore", "--latest", "daily", "--to", target, "--force");
            TestContext.Current.TestOutputHelper?.WriteLine(run.ToString());
            Assert.True(run.ExitCode is 0 or 1, run.ToString());
            AssertVictimUntouched();
        }
    }

    [Fact]
    public async Task A_root_rotation_never_cuts_a_file_the_app_user_swapped_in_for_its_log()
    {
        SkipUnlessRoot();
        var ct = TestContext.Current.CancellationToken;
        var logs = _temp.Combine("logs");
        Directory.CreateDirectory(logs);
        var log = Path.Combine(logs, "backend.log");
        await File.WriteAllTextAsync(_victim, string.Concat(Enumerable.Repeat("root's secret line\n", 2000)), ct);
        var before = CliSandbox.HashOf(_victim);
        var config = WriteConfig(log);

        // The app writes through the descriptor it opened at start, as apps do, whatever the name points to later.
        await using var app = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);

        // The app's user flips its log between the real file and a link to the victim, as fast as it can.
        await using var swapper = Swapper.Start($$"""
            import os
            os.chdir('{{logs}}')
            while True:
                try:
                    os.rename('backend.log', 'real.log')
                    os.symlink('{{_victim}}', 'link.log')
                    os.rename('link.log', 'backend.log')
                    os.rename('real.log', 'backend.log')
                except OSError:
                    pass
            """);
        var runner = new JobRunner(config, TimeProvider.System, NullLoggerFactory.Instance);
        for (var rotation = 0; rotation < 100; rotation++)
        {
            await app.WriteAsync(System.Text.Encoding.UTF8.GetBytes($"GET /feed {rotation}\n"), ct);
            try
            {
                await runner.RunAsync("logs", null, null, ct);
            }
            catch (Exception e) when (e is CellarException or IOException)
            {
                // Refused or raced: either is fine, touching the victim is not.
            }
        }

        await swapper.DisposeAsync();
        Assert.Equal(before, CliSandbox.HashOf(_victim));
        AssertVictimUntouched(content: false);
    }

    [Fact]
    public async Task Links_planted_under_the_names_of_Cellars_own_files_are_never_followed()
    {
        SkipUnlessRoot();
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var absent = _temp.Combine("root-only", "created-by-root");
        File.CreateSymbolicLink(Path.Combine(sandbox.LogDir, "backup.log"), _victim);
        Directory.CreateDirectory(sandbox.DailyFolder);
        File.CreateSymbolicLink(Path.Combine(sandbox.DailyFolder, FolderLock.FileName), absent);

        var run = await sandbox.CellarAsync("run", "daily");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("symbolic link", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(absent), "root created a file through a planted link");
        AssertVictimUntouched();
    }

    [Fact]
    public void A_download_lock_planted_as_a_link_beside_the_target_is_never_followed()
    {
        SkipUnlessRoot();
        var app = _temp.Combine("app");
        Directory.CreateDirectory(app);
        var absent = _temp.Combine("root-only", "created-by-root");
        File.CreateSymbolicLink(Path.Combine(app, ".cellar-download-0123456789abcdef0123456789abcdef.lock"), absent);

        using (DownloadFolder.Create(Path.Combine(app, "portfolio.sqlite")))
        {
        }

        Assert.False(File.Exists(absent), "root created a file through a planted link");
    }

    [Fact]
    public async Task Root_in_a_backup_folder_the_app_user_owns_is_warned_once_and_the_run_still_succeeds()
    {
        SkipUnlessRoot();
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        Directory.CreateDirectory(sandbox.DailyFolder);
        await ChownAsync(AppUser, sandbox.DailyFolder);

        var run = await sandbox.CellarAsync("run", "daily");

        Assert.True(run.ExitCode == 0, run.ToString());
        var warnings = run.StderrLines.Where(line => line.Contains("running as root in", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains(sandbox.DailyFolder, warning, StringComparison.Ordinal);
        Assert.Contains($"uid {AppUser} owns", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sidecar_that_is_a_fifo_or_a_link_is_a_problem_in_list_not_a_hang()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var backup = await sandbox.BackupAsync();
        File.Delete(backup + ".json");
        var (code, output) = await CliSandbox.ExecAsync("mkfifo", backup + ".json");
        Assert.True(code == 0, output);

        var list = await sandbox.CellarAsync("list");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("FIFO", list.Stdout, StringComparison.Ordinal);
    }

    private static void SkipUnlessRoot() =>
        Assert.SkipUnless(UnixFiles.IsRoot, "the race is root's: only root can chown to the app's user and be tricked into acting on its behalf");

    private void AssertVictimUntouched(bool content = true)
    {
        var stat = UnixFiles.Stat(_victim)!.Value;
        Assert.Equal((0u, 0u), (stat.Uid, stat.Gid));
        Assert.Equal(Convert.ToUInt32("600", 8), stat.Mode & 0xFFF);
        if (content)
        {
            Assert.Equal("root's secret\n", File.ReadAllText(_victim));
        }
    }

    private CellarConfig WriteConfig(string log)
    {
        var path = _temp.Combine("cellar.json");
        File.WriteAllText(path, $$"""
            { "database": "{{_temp.Combine("portfolio.sqlite")}}", "backupRoot": "{{_temp.Combine("backups")}}", "logDir": "{{_temp.Combine("cellar-logs")}}",
              "jobs": { "logs": { "type": "rotate", "path": "{{log}}", "fallbacks": ["copytruncate"] } } }
            """);
        return ConfigLoader.Load(path);
    }

    private static async Task ChownAsync(uint uid, params string[] paths)
    {
        var (code, output) = await CliSandbox.ExecAsync("chown", [$"{uid}:{uid}", .. paths]);
        Assert.True(code == 0, output);
    }

    /// <summary>A Python loop in a process of its own, the way another user would race Cellar; killed on dispose.</summary>
    private sealed class Swapper : IAsyncDisposable
    {
        private readonly Process _process;

        private Swapper(Process process) => _process = process;

        public static Swapper Start(string script)
        {
            var info = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(script);
            return new Swapper(Process.Start(info)!);
        }

        private bool _stopped;

        public async ValueTask DisposeAsync()
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }
    }
}

using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Cli;

/// <summary>
/// What an operator gets wrong, or the machine does: each failure is one line on stderr starting "cellar: ", exit 2
/// for configuration and usage, 1 for a failed operation, no partial file in the backup folder and every existing
/// backup byte for byte as it was.
/// </summary>
public sealed class BadInputTests
{
    private const long DatabaseBytes = 1 << 20;

    [Fact]
    public async Task Missing_database_fails_with_exit_1_and_touches_no_backup()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);
        var config = sandbox.WriteConfig(database: sandbox.Combine("data", "gone.sqlite"), path: sandbox.Combine("missing-db.json"));

        var run = await CliSandbox.CellarWithConfigAsync(config, "run", "daily");

        AssertFailedCleanly(sandbox, before, run, 1, "does not exist");
    }

    // Random bytes, and a file cut short inside SQLite's 16-byte header (its first 15 bytes are right): both are
    // refused by the header check itself, before SQLite is asked to open them.
    [Theory]
    [InlineData("random")]
    [InlineData("short")]
    public async Task Database_that_is_not_SQLite_fails_with_exit_1_and_touches_no_backup(string content)
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);
        var junk = sandbox.Combine("data", "junk.sqlite");
        var bytes = content == "short" ? "SQLite format 3"u8.ToArray() : System.Security.Cryptography.RandomNumberGenerator.GetBytes(256 << 10);
        await File.WriteAllBytesAsync(junk, bytes, TestContext.Current.CancellationToken);
        var config = sandbox.WriteConfig(database: junk, path: sandbox.Combine("junk-db.json"));

        var run = await CliSandbox.CellarWithConfigAsync(config, "run", "daily");

        AssertFailedCleanly(sandbox, before, run, 1, $"database {junk} is not an SQLite database (bad header)");
    }

    [Fact]
    public async Task Unreadable_database_fails_with_exit_1_and_touches_no_backup()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);

        // Root reads a file whatever its mode: as root, cellar runs as nobody, who owns everything else here.
        await Unprivileged.HandOverAsync(sandbox.Root);
        File.SetUnixFileMode(sandbox.Database, UnixFileMode.None);
        try
        {
            var run = await Unprivileged.CellarAsync(sandbox.ConfigPath, "run", "daily");

            AssertFailedCleanly(sandbox, before, run, 1, "not readable");
        }
        finally
        {
            File.SetUnixFileMode(sandbox.Database, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public async Task Unknown_job_is_a_usage_error_with_exit_2()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);

        var run = await sandbox.CellarAsync("run", "nope");

        AssertFailedCleanly(sandbox, before, run, 2, "unknown job 'nope'");
    }

    [Fact]
    public async Task Malformed_config_is_a_config_error_with_exit_2()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);
        var config = sandbox.Combine("broken.json");
        await File.WriteAllTextAsync(config, $"{{ \"database\": \"{sandbox.Database}\", \"jobs\": {{ \"daily\": ", TestContext.Current.CancellationToken);

        var run = await CliSandbox.CellarWithConfigAsync(config, "run", "daily");

        AssertFailedCleanly(sandbox, before, run, 2, "not valid JSON");
    }

    [Fact]
    public async Task Missing_config_file_is_a_config_error_with_exit_2()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);

        var run = await CliSandbox.CellarWithConfigAsync(sandbox.Combine("nowhere.json"), "run", "daily");

        AssertFailedCleanly(sandbox, before, run, 2, "does not exist");
    }

    [Fact]
    public async Task Read_only_backup_folder_fails_with_exit_1_and_leaves_its_backups_alone()
    {
        using var sandbox = await SandboxWithOneBackupAsync();
        var before = CliSandbox.Fingerprint(sandbox.DailyFolder);
        using var mount = await ReadOnlyViewAsync(sandbox);
        var backupRoot = mount.Path;

        var config = sandbox.WriteConfig(backupRoot: backupRoot, path: sandbox.Combine("read-only.json"));
        var run = await CliSandbox.CellarWithConfigAsync(config, "run", "daily");

        CliSandbox.AssertOneLineError(run, 1);
        Assert.Matches("read-only|not writable|permission denied", run.StderrLines[0]);
        var folder = Path.Combine(backupRoot, "daily");
        CliSandbox.AssertNoTempFiles(folder);
        Assert.Equal(before, CliSandbox.Fingerprint(folder));
    }

    [Fact]
    public async Task Full_disk_fails_with_exit_1_saying_no_space_and_keeps_the_existing_backup()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to mount a small tmpfs as a full disk");
        using var sandbox = await SandboxWithOneBackupAsync();
        using var disk = await Mount.TmpfsAsync(sandbox.Combine("small-disk"), "size=2m");
        Assert.SkipWhen(disk is null, "mount -t tmpfs failed here (no CAP_SYS_ADMIN?)");

        // The disk holds one good backup; the database to back up is bigger than the space left.
        var folder = Path.Combine(disk.Path, "daily");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(sandbox.DailyFolder).Where(f => !Path.GetFileName(f).StartsWith('.')))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var before = CliSandbox.Fingerprint(folder);
        var big = sandbox.Combine("data", "big.sqlite");
        await SampleDatabases.CopyToAsync(4 << 20, big);
        var config = sandbox.WriteConfig(database: big, backupRoot: disk.Path, path: sandbox.Combine("full-disk.json"));

        var run = await CliSandbox.CellarWithConfigAsync(config, "run", "daily");

        CliSandbox.AssertOneLineError(run, 1, "no space");
        CliSandbox.AssertNoTempFiles(folder);
        Assert.Equal(before, CliSandbox.Fingerprint(folder));
        var verify = await CliSandbox.CellarWithConfigAsync(config, "verify");
        Assert.True(verify.ExitCode == 0, $"the backup already on the full disk no longer verifies: {verify}");
    }

    private static async Task<CliSandbox> SandboxWithOneBackupAsync()
    {
        var sandbox = await CliSandbox.CreateAsync(DatabaseBytes);
        try
        {
            await sandbox.BackupAsync();
            return sandbox;
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
    }

    private static void AssertFailedCleanly(CliSandbox sandbox, IReadOnlyDictionary<string, string> before, CellarRun run, int exitCode, string mention)
    {
        CliSandbox.AssertOneLineError(run, exitCode, mention);
        CliSandbox.AssertNoTempFiles(sandbox.BackupRoot);
        Assert.Equal(before, CliSandbox.Fingerprint(sandbox.DailyFolder));
    }

    /// <summary>
    /// The sandbox's backup root as a read-only folder: as root (whom chmod does not stop) a read-only bind mount,
    /// otherwise the job folder made 0555.
    /// </summary>
    internal static async Task<Mount> ReadOnlyViewAsync(CliSandbox sandbox)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            File.SetUnixFileMode(sandbox.DailyFolder, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            return new Mount(sandbox.BackupRoot, mounted: false);
        }

        var view = await Mount.ReadOnlyBindAsync(sandbox.BackupRoot, sandbox.Combine("backups-read-only"));
        Assert.SkipWhen(view is null, "running as root, and a read-only bind mount failed here (no CAP_SYS_ADMIN?)");
        return view;
    }
}

/// <summary>A mount made by a test (via the mount program, no shell), unmounted on dispose.</summary>
internal sealed class Mount(string path, bool mounted) : IDisposable
{
    public string Path { get; } = path;

    public static async Task<Mount?> TmpfsAsync(string path, string options)
    {
        Directory.CreateDirectory(path);
        var (code, _) = await CliSandbox.ExecAsync("mount", "-t", "tmpfs", "-o", options, "tmpfs", path);
        return code == 0 ? new Mount(path, mounted: true) : null;
    }

    public static async Task<Mount?> ReadOnlyBindAsync(string source, string path)
    {
        Directory.CreateDirectory(path);
        var (code, _) = await CliSandbox.ExecAsync("mount", "--bind", source, path);
        if (code != 0)
        {
            return null;
        }

        var mount = new Mount(path, mounted: true);
        (code, _) = await CliSandbox.ExecAsync("mount", "-o", "remount,bind,ro", path);
        if (code != 0)
        {
            mount.Dispose();
            return null;
        }

        return mount;
    }

    public void Dispose()
    {
        if (mounted)
        {
            CliSandbox.ExecAsync("umount", Path).GetAwaiter().GetResult();
        }
        else
        {
            // Undo the chmod so the temp folder can be removed.
            foreach (var dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
            {
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }
}

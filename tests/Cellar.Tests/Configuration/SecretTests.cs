using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Core;
using Cellar.Core.IO;
using Cellar.Tests.Cli;
using Cellar.Tests.Daemon;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Configuration;

/// <summary>
/// Every secret Cellar reads (the encryption key, the admin and metrics tokens, the S3 credentials) passes one check:
/// a file owned by the user Cellar runs as, that group and others cannot access, judged on the file actually read;
/// secrets given in the environment leave it. Real files and real <c>cellar</c> processes.
/// </summary>
public sealed class SecretTests
{
    public static readonly TheoryData<string> SecretKeys = new() { "apiTokenFile", "metricsTokenFile", "credentialsFile", "encryptionKeyFile" };

    [Theory]
    [MemberData(nameof(SecretKeys))]
    public async Task A_secret_file_group_or_others_can_read_is_refused_with_the_file_and_chmod_600(string key)
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var files = await SecretsAsync(sandbox);
        File.SetUnixFileMode(files[key], UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var run = await RunBoundedAsync(sandbox, key);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Single(run.StderrLines);
        Assert.Contains(files[key], run.Stderr, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {files[key]}", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_daemon_asked_to_listen_beyond_loopback_without_a_token_refuses_to_start()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken))!;

        // A documentation address (RFC 5737) no interface has: had the check been skipped, binding it would fail
        // with another message, and nothing is ever sent to it.
        config["listen"] = "http://192.0.2.1:0";
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), TestContext.Current.CancellationToken);

        var run = await RunBoundedAsync(sandbox, "apiTokenFile");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Single(run.StderrLines);
        Assert.Contains("not loopback and no admin API token is set", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(SecretKeys))]
    public async Task A_secret_file_another_user_owns_is_refused_even_to_root_with_the_file_and_chown(string key)
    {
        Assert.SkipUnless(UnixFiles.IsRoot, "only root can give a file to another user");
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var files = await SecretsAsync(sandbox);
        using (var handle = UnixFiles.OpenNoFollow(files[key], 0))
        {
            Assert.Equal(0, UnixFiles.FChown(handle, 1001, 1001));
        }

        var run = await RunBoundedAsync(sandbox, key);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Single(run.StderrLines);
        Assert.Contains(files[key], run.Stderr, StringComparison.Ordinal);
        Assert.Contains("owned by uid 1001", run.Stderr, StringComparison.Ordinal);
        Assert.Contains($"chown 0 {files[key]}", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_apiTokenFile_is_refused_instead_of_quietly_turning_the_admin_API_off()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var files = await SecretsAsync(sandbox);
        await File.WriteAllTextAsync(files["apiTokenFile"], "\n", TestContext.Current.CancellationToken);

        var run = await RunBoundedAsync(sandbox, "apiTokenFile");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"apiTokenFile {files["apiTokenFile"]} is empty", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_file_swapped_while_it_is_read_is_judged_by_the_file_that_was_read()
    {
        using var temp = new TempFolder();
        var owned = temp.Combine("owned");
        var loose = temp.Combine("loose");
        var name = temp.Combine("token");
        File.WriteAllText(owned, "owner-only-secret");
        File.SetUnixFileMode(owned, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(loose, "world-readable-text");
        File.SetUnixFileMode(loose, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        File.Copy(owned, name);

        // Another process's view of the name flips between the two files, each swap one atomic rename.
        using var stop = new CancellationTokenSource();
        var swapper = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var next = temp.Combine($"next-{i}");
                Assert.Equal(0, UnixFiles.Link(i % 2 == 0 ? loose : owned, next));
                File.Move(next, name, overwrite: true);
            }
        }, TestContext.Current.CancellationToken);

        var (accepted, refused) = (0, 0);
        for (var i = 0; i < 20_000; i++)
        {
            try
            {
                Assert.Equal("owner-only-secret", Encoding.UTF8.GetString(SecretFile.Read(name, "token file", 4096)));
                accepted++;
            }
            catch (ConfigException e) when (e.Message.Contains("chmod 600", StringComparison.Ordinal))
            {
                refused++;
            }
        }

        stop.Cancel();
        await swapper;
        Assert.True(accepted > 0 && refused > 0, $"the race never happened: {accepted} accepted, {refused} refused");
    }

    [Fact]
    public async Task Secrets_given_in_the_environment_leave_it_and_still_work()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var nas = Directory.CreateDirectory(sandbox.Combine("nas")).FullName;
        await using var daemon = await DaemonProcess.StartAsync(
            sandbox,
            config =>
            {
                config.AsObject().Remove("apiTokenFile");
                config["offsite"] = new JsonObject { ["nas"] = new JsonObject { ["type"] = "local", ["path"] = nas, ["encrypt"] = true } };
            },
            new Dictionary<string, string> { ["CELLAR_API_TOKEN"] = DaemonProcess.Token, ["CELLAR_ENCRYPTION_KEY"] = key });

        var environ = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{daemon.Id}/environ", ct));
        using var triggered = await daemon.Client.PostAsync(new Uri("/api/admin/trigger-backup?wait=true", UriKind.Relative), null, ct);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!Directory.Exists(nas) || !Directory.EnumerateFiles(nas, "*.enc", SearchOption.AllDirectories).Any())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"no encrypted copy offsite: {daemon.Output}");
            await Task.Delay(100, ct);
        }

        Assert.DoesNotContain(DaemonProcess.Token, environ, StringComparison.Ordinal);
        Assert.DoesNotContain(key, environ, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
    }

    /// <summary>Writes every secret file (owner-only, as they should be) into the sandbox's config, keyed by config key.</summary>
    private static async Task<Dictionary<string, string>> SecretsAsync(CliSandbox sandbox)
    {
        var files = new Dictionary<string, string>
        {
            ["apiTokenFile"] = sandbox.Combine("api-token"),
            ["metricsTokenFile"] = sandbox.Combine("metrics-token"),
            ["credentialsFile"] = sandbox.Combine("credentials"),
            ["encryptionKeyFile"] = sandbox.Combine("offsite.key"),
        };
        await File.WriteAllTextAsync(files["apiTokenFile"], DaemonProcess.Token);
        await File.WriteAllTextAsync(files["metricsTokenFile"], "metrics-token-0123456789");
        await File.WriteAllTextAsync(files["credentialsFile"], "[default]\naws_access_key_id = KEY\naws_secret_access_key = SECRET\n");
        Offsite.OffsiteSandbox.WriteKey(files["encryptionKeyFile"]);
        foreach (var file in files.Values)
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath))!;
        config["listen"] = "http://127.0.0.1:0";
        config["apiTokenFile"] = files["apiTokenFile"];
        config["metricsTokenFile"] = files["metricsTokenFile"];
        config["encryptionKeyFile"] = files["encryptionKeyFile"];
        config["offsite"] = new JsonObject
        {
            // A port nothing listens on: the secrets are read before the first request.
            ["spaces"] = new JsonObject
            {
                ["bucket"] = "cellar",
                ["endpoint"] = $"http://127.0.0.1:{LoopbackPort.Free()}",
                ["credentialsFile"] = files["credentialsFile"],
                ["retries"] = 0,
            },
        };
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString());
        return files;
    }

    /// <summary>The command that reads <paramref name="key"/>'s file first, run to its end or stopped after 30 s (a daemon that started).</summary>
    private static async Task<CellarRun> RunBoundedAsync(CliSandbox sandbox, string key)
    {
        string[] args = key is "apiTokenFile" or "metricsTokenFile"
            ? ["--config", sandbox.ConfigPath, "serve"]
            : ["--config", sandbox.ConfigPath, "list", "--from", "spaces"];
        using var process = CellarProcess.Start(args);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bound.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Fail($"cellar {string.Join(' ', args)} ran on instead of refusing the {key}: {await stdout}{await stderr}");
        }

        return new CellarRun(process.ExitCode, await stdout, await stderr);
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Cellar.Bench;

/// <summary>
/// s3rver (the S3-compatible server the tests use, from tests/s3server) as a child process on a free loopback port,
/// with its data in a folder of the bench's, its fixed credentials in an AWS credentials file, and a count of the
/// requests it answered. Killed on dispose.
/// </summary>
internal sealed class S3rver : IDisposable
{
    private readonly Process _process;

    private S3rver(Process process, int port, string dataFolder, string credentialsFile)
    {
        _process = process;
        Endpoint = $"http://127.0.0.1:{port}";
        DataFolder = dataFolder;
        CredentialsFile = credentialsFile;
        Log = new OffsiteBench.ServerLog(process);
    }

    /// <summary>The server's URL.</summary>
    public string Endpoint { get; }

    /// <summary>Where it keeps its buckets.</summary>
    public string DataFolder { get; }

    /// <summary>An owner-only AWS credentials file with s3rver's fixed keys.</summary>
    public string CredentialsFile { get; }

    /// <summary>The requests it answered.</summary>
    public OffsiteBench.ServerLog Log { get; }

    /// <summary>Starts a server with bucket <c>cellar</c>, its data and credentials under <paramref name="dir"/>.</summary>
    public static async Task<S3rver> StartAsync(string dir, string s3Folder)
    {
        var port = OffsiteBench.FreePort();
        var data = Directory.CreateDirectory(Path.Combine(dir, "s3")).FullName;
        var credentials = Path.Combine(dir, "credentials");
        await File.WriteAllTextAsync(credentials, "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n").ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite); // Cellar refuses secret files others can read
        }

        var process = Process.Start(Proc.StartInfo("node", [Path.Combine(s3Folder, "node_modules", "s3rver", "bin", "s3rver.js"), "-d", data, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "--configure-bucket", "cellar"], redirectStdin: false))!;
        var server = new S3rver(process, port, data, credentials);
        try
        {
            await OffsiteBench.WaitForPortAsync(port, process).ConfigureAwait(false);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}

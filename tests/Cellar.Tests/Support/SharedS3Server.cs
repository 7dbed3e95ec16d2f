using Xunit;

namespace Cellar.Tests.Support;

/// <summary>
/// One <see cref="S3Server"/> for every test of a class (a class fixture; each test keeps to its own prefix). Started
/// by the first test that asks rather than with the class, so a machine without Node.js skips those tests instead of
/// failing the class.
/// </summary>
public sealed class SharedS3Server : IAsyncDisposable
{
    private readonly SemaphoreSlim _start = new(1, 1);
    private S3Server? _server;

    internal async Task<S3Server> GetAsync(CancellationToken ct)
    {
        await _start.WaitAsync(ct);
        try
        {
            // Not the asking test's token: the server outlives that test.
            return _server ??= await S3Server.StartAsync(CancellationToken.None);
        }
        finally
        {
            _start.Release();
        }
    }

    /// <summary>A prefix no other test of the class uses.</summary>
    internal static string FreshPrefix() => $"t{Guid.NewGuid():N}/";

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _start.Dispose();
    }
}

using Cellar.Demo;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Snapshots;

/// <summary>
/// One portfolio database of a few tens of MB, generated on first use and shared by a test class; each test
/// copies it, so the busy-database tests pay for generation once.
/// </summary>
public sealed class PortfolioTemplate : IDisposable
{
    /// <summary>The template's size: large enough that a snapshot copy overlaps many writer commits.</summary>
    public const long TargetBytes = 24L * 1024 * 1024;

    private readonly TempFolder _folder = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _path;

    /// <summary>Copies the template (generating it first if needed) to <paramref name="destination"/>.</summary>
    public async Task CopyToAsync(string destination, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_path is null)
            {
                string path = _folder.Combine("portfolio.db");
                await PortfolioDatabase.CreateAsync(path, TargetBytes, cancellationToken);
                _path = path;
            }
        }
        finally
        {
            _gate.Release();
        }

        // The generator leaves everything checkpointed, so the main file is the whole database.
        var wal = new FileInfo(_path + "-wal");
        Assert.True(!wal.Exists || wal.Length == 0, "the template's WAL still holds frames");
        File.Copy(_path, destination);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _gate.Dispose();
    }
}

using Cellar.Core.Jobs;
using Cellar.Core.Logs;
using Cellar.Core.Retention;
using Cellar.Logging;
using Cellar.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Cellar.Tests.Logging;

/// <summary>Upkeep (retention, log rotation, verification) goes to <c>maintenance.log</c>, the runs to <c>backup.log</c>, as the seed had them.</summary>
public sealed class FileLoggerRoutingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Each_category_lands_in_the_file_of_its_work()
    {
        using (var provider = new FileLoggerProvider(_temp.Path, TimeProvider.System, problem => Assert.Fail(problem)))
        {
            Write(provider.CreateLogger(typeof(Pruner).FullName!), "pruned");
            Write(provider.CreateLogger(typeof(LogRotator).FullName!), "rotated");
            Write(provider.CreateLogger(FileLoggerProvider.MaintenanceCategory + ".Verify"), "verified");
            Write(provider.CreateLogger("Cellar.Backup"), "backed up");
            Write(provider.CreateLogger(typeof(JobRunner).FullName!), "ran");
        }

        var maintenance = File.ReadAllText(_temp.Combine("maintenance.log"));
        var backup = File.ReadAllText(_temp.Combine("backup.log"));
        Assert.All(new[] { "pruned", "rotated", "verified" }, line => Assert.Contains(line, maintenance, StringComparison.Ordinal));
        Assert.All(new[] { "backed up", "ran" }, line => Assert.Contains(line, backup, StringComparison.Ordinal));
        Assert.DoesNotContain("backed up", maintenance, StringComparison.Ordinal);
        Assert.DoesNotContain("pruned", backup, StringComparison.Ordinal);
    }

    private static void Write(ILogger logger, string text) => logger.Log(LogLevel.Information, default, text, null, (state, _) => state);
}

using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>An offsite destination opened for reading by <c>list --from</c> and <c>restore --from</c>.</summary>
internal sealed class RemoteTarget : IDisposable
{
    private readonly IObjectStore _store;

    private RemoteTarget(OffsiteDestination destination, IObjectStore store, RemoteBackups backups)
    {
        Destination = destination;
        _store = store;
        Backups = backups;
    }

    public OffsiteDestination Destination { get; }

    public RemoteBackups Backups { get; }

    public static RemoteTarget Open(CliContext context, string name)
    {
        var destination = context.Config.FindDestination(name);
        var store = OffsiteStores.Open(destination, context.Loggers.CreateLogger<RemoteTarget>());
        return new RemoteTarget(destination, store, new RemoteBackups(store, OffsiteKey.Load(context.Config), destination.Encrypt));
    }

    /// <summary>The key prefix of a job's copies: <c>DATABASE/JOB/</c>.</summary>
    public static string PrefixOf(JobConfig job) => $"{job.Database.Name}/{job.Name}/";

    public void Dispose() => (_store as IDisposable)?.Dispose();
}

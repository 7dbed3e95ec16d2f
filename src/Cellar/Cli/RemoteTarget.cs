using Cellar.Core.Configuration;
using Cellar.Core.Offsite;
using Cellar.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>An offsite destination opened for reading by <c>list --from</c> and <c>restore --from</c>.</summary>
internal sealed class RemoteTarget : IDisposable
{
    private readonly IObjectStore _store;

    private RemoteTarget(OffsiteDestination destination, IObjectStore store, RemoteBackups backups, RemoteSelection selection)
    {
        Destination = destination;
        _store = store;
        Backups = backups;
        Selection = selection;
        Streams = new RemoteStream(store, backups, Warn);
    }

    public OffsiteDestination Destination { get; }

    public RemoteBackups Backups { get; }

    public RemoteSelection Selection { get; }

    /// <summary>Stream jobs' history at the destination.</summary>
    public RemoteStream Streams { get; }

    /// <summary>Opens the destination; what the operator must know about the copies read is said on stderr as warnings.</summary>
    public static RemoteTarget Open(CliContext context, string name, bool acceptUnsealed = false)
    {
        var destination = context.Config.FindDestination(name);
        var store = OffsiteStores.Open(destination, context.Loggers.CreateLogger<RemoteTarget>());
        var backups = new RemoteBackups(store, destination, OffsiteKey.Load(context.Config), Warn) { AcceptUnsealed = acceptUnsealed };
        return new RemoteTarget(destination, store, backups, new RemoteSelection(context.Config, destination, backups, context.Time, Warn));
    }

    public void Dispose() => _store.Dispose();

    private static void Warn(string warning) => Console.Error.WriteLine($"cellar: warning: {warning}");
}

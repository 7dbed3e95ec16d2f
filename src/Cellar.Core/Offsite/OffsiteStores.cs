using Cellar.Core.Configuration;
using Cellar.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Cellar.Core.Offsite;

/// <summary>Opens the store a destination points to.</summary>
internal static class OffsiteStores
{
    public static IObjectStore Open(OffsiteDestination destination, ILogger logger) =>
        destination.S3 is { } s3 ? new S3ObjectStore(s3, logger) : new LocalObjectStore(destination.FolderPath!);
}

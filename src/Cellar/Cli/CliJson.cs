using System.Text.Json.Serialization;

namespace Cellar.Cli;

/// <summary>Source-generated JSON for the CLI's <c>--json</c> outputs.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(IEnumerable<ListItem>))]
[JsonSerializable(typeof(IReadOnlyList<Cellar.Core.Replication.StreamGeneration>))]
[JsonSerializable(typeof(IEnumerable<StatusItem>))]
[JsonSerializable(typeof(IEnumerable<RemoteListItem>))]
internal sealed partial class CliJson : JsonSerializerContext;

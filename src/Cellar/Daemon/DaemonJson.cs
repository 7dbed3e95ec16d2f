using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cellar.Daemon;

/// <summary>
/// Source-generated JSON for every body the daemon reads or writes: the published daemon is a native AOT binary,
/// where reflection-based serialization is off. The OpenAPI document describes route and query parameters through
/// the same resolver, so their types are listed too.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StatusAnswer))]
[JsonSerializable(typeof(IEnumerable<BackupAnswer>))]
[JsonSerializable(typeof(TriggerAnswer))]
[JsonSerializable(typeof(RunAnswer))]
[JsonSerializable(typeof(VerifyAnswer))]
[JsonSerializable(typeof(IEnumerable<LagAnswer>))]
[JsonSerializable(typeof(HealthAnswer))]
[JsonSerializable(typeof(FailureAlert))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(Guid))]
internal sealed partial class DaemonJson : JsonSerializerContext;

namespace Cellar.Daemon;

/// <summary>The JSON body posted to a job's <c>webhookUrl</c> when a run fails.</summary>
internal sealed record FailureAlert(string Job, string? Tag, string Error, DateTimeOffset At);

using Cellar.Core.Configuration;

namespace Cellar.Core.Logs;

/// <summary>
/// One way to empty a live log of the complete lines not yet archived, archiving them on the way (a
/// <see cref="RotationMethod"/>): the rotator settles what a crash left, picks the cut that suits the log and its
/// filesystem, and hands it the open log.
/// </summary>
internal interface ILogCut
{
    /// <summary>Archives what <paramref name="log"/> holds past its archived head and empties the live file of it.</summary>
    Task<LogOutcome> CutAsync(LiveLog log, CancellationToken cancellationToken);
}

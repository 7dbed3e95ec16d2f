using Cellar.Core.Configuration;
using Cellar.Core.IO;

namespace Cellar.Core.Logs;

/// <summary>A live log opened for its rotation, with what the rotator found out about it before the cut.</summary>
/// <param name="Job">The rotate job.</param>
/// <param name="Path">The log's name.</param>
/// <param name="File">The log, opened read-write without following links.</param>
/// <param name="Stat">What <paramref name="File"/> is: its inode, block size, owner and mode.</param>
/// <param name="State">What is archived of it, any crash already settled.</param>
/// <param name="Writers">The processes writing it, as seen in /proc.</param>
internal sealed record LiveLog(RotateJob Job, string Path, FileStream File, UnixFiles.FileStat Stat, LogState State, IReadOnlyList<LogWriter> Writers);

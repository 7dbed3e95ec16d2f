namespace Cellar.Core.Wal;

/// <summary>
/// The WAL was restarted while a base image was read over it: the frames laid over the file may be another WAL's, so
/// the image is read again from the file alone (<see cref="BaseImage.FileAlone"/>).
/// </summary>
internal sealed class OverlayLost() : CellarException("the WAL was restarted while the base image was copied");

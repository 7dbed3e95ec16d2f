using Cellar.Core.Catalog;
using Cellar.Core.Compression;

namespace Cellar.Core.Artifacts;

/// <summary>A stored file about to be proven: where it is, its sidecar, and the codec that sidecar records.</summary>
/// <param name="Path">The stored (compressed) file.</param>
/// <param name="Sidecar">Its sidecar, already read.</param>
/// <param name="Codec">The codec <see cref="Sidecar.Compression"/> names: the file is read by that, never by its extension.</param>
internal sealed record StoredArtifact(string Path, Sidecar Sidecar, Codec Codec);

namespace Cellar.Core.Storage;

/// <summary>The key names no object in the store.</summary>
internal sealed class ObjectNotFoundException(string location, string key)
    : CellarException($"{location}: no object '{key}'");

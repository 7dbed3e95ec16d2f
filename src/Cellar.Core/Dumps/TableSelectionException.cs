namespace Cellar.Core.Dumps;

/// <summary>A <c>tables</c> entry that names no dumpable table.</summary>
internal sealed class TableSelectionException(int index, string message) : CellarException(message)
{
    /// <summary>Which entry of the list.</summary>
    public int Index { get; } = index;
}

using System.Runtime.InteropServices;
using Cellar.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Cellar.Core.Logs;

/// <summary>Cuts whole filesystem blocks off the head of a live log in place (<c>fallocate(FALLOC_FL_COLLAPSE_RANGE)</c>).</summary>
internal static class HeadCut
{
    private static readonly AsyncLocal<Func<Func<int>, int>?> Injected = new();

    /// <summary>
    /// Tests hook: wraps the cut, to make it fail (return an errno) or to stop the rotation on either side of it as a
    /// crash would (throw). Scoped to the caller's async flow, so tests running in parallel are not affected.
    /// </summary>
    internal static Func<Func<int>, int>? Fault
    {
        get => Injected.Value;
        set => Injected.Value = value;
    }

    /// <summary>Cuts the first <paramref name="bytes"/> off the file; returns 0, or the errno of a cut that failed.</summary>
    public static int Collapse(SafeFileHandle handle, long bytes)
    {
        int Cut() => NativeMethods.Fallocate((int)handle.DangerousGetHandle(), NativeMethods.FallocFlCollapseRange, 0, bytes) == 0 ? 0 : Marshal.GetLastPInvokeError();
        return Fault is { } fault ? fault(Cut) : Cut();
    }
}

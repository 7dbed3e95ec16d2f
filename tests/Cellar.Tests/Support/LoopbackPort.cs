using System.Net;
using System.Net.Sockets;

namespace Cellar.Tests.Support;

/// <summary>A free TCP port on 127.0.0.1, for a test's own small HTTP listener.</summary>
internal static class LoopbackPort
{
    /// <summary>Binds port 0 to learn a free port, then releases it for the caller's listener to take.</summary>
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

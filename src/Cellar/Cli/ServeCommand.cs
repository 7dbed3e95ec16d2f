using System.CommandLine;
using Cellar.Daemon;
using Cellar.Logging;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary><c>cellar serve</c>: the daemon: schedules, health endpoints; SIGTERM stops it after letting a running job finish.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the daemon: every job on its schedule (with catch-up), until SIGTERM");
        command.SetAction(CellarCli.Action(async (_, context, cancellationToken) =>
        {
            await using var app = DaemonApp.Build(context.Config, context.Time, logging =>
            {
                logging.ClearProviders();
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.UseUtcTimestamp = true;
                });
                logging.AddProvider(new FileLoggerProvider(context.Config.LogDir, context.Time));
            });
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var address in app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses)
            {
                Console.WriteLine($"cellar: listening on {address}");
            }

            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}
